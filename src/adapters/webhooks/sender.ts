import { webhookHeaders } from './signing.ts';

/** One signed webhook POST. */
export interface WebhookMessage {
  readonly id: string;
  readonly url: string;
  readonly body: string;
  /** The current secret first; the previous one too while a rotation overlaps. */
  readonly secrets: readonly string[];
  readonly at: Date;
}

/** What one attempt came to; `responseCode` is the HTTP status when there was an answer. */
export interface DeliveryOutcome {
  readonly delivered: boolean;
  readonly responseCode: number | null;
  readonly error: string | null;
}

export interface WebhookSender {
  send(message: WebhookMessage): Promise<DeliveryOutcome>;
}

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** What we keep of a receiver's error answer, for the delivery log. */
const ERROR_BODY_CHARS = 200;

/**
 * POSTs the body as JSON with the Standard Webhooks headers. Any 2xx is delivered; a redirect is not followed
 * (it would take the request to a host nobody allowed) and counts as a failure, like any other answer.
 */
export function httpWebhookSender(options: { timeoutMs?: number } = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    async send(message) {
      let response: Response;
      try {
        response = await fetch(message.url, {
          method: 'POST',
          headers: {
            ...webhookHeaders(message.secrets, message.id, message.at, message.body),
            'user-agent': 'Drawbridge-Webhooks/1',
          },
          body: message.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        return { delivered: false, responseCode: null, error: describe(error) };
      }
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel().catch(() => {});
        return { delivered: true, responseCode: response.status, error: null };
      }
      const text = await readPrefix(response, ERROR_BODY_CHARS);
      const location = response.headers.get('location');
      const detail =
        response.status >= 300 && response.status < 400
          ? `redirect to ${location ?? '?'} not followed`
          : text.slice(0, ERROR_BODY_CHARS);
      return { delivered: false, responseCode: response.status, error: `HTTP ${response.status}: ${detail}` };
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return (cause?.code ?? cause?.message ?? error.message).slice(0, ERROR_BODY_CHARS);
  }
  return 'unknown error';
}

/** At most `limit` characters of the answer: a receiver cannot make us hold a large body in memory. */
async function readPrefix(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // an answer cut short is still an answer; what arrived is enough for the log
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
