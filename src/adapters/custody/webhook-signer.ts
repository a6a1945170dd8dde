import { Webhook } from 'standardwebhooks';
import type { Clock } from '../../core/clock.ts';
import { assert } from '../../core/errors.ts';
import { checkWebhookUrl, type WebhookDestinationPolicy } from '../webhooks/destination-policy.ts';
import { isWebhookSecret, webhookHeaders } from '../webhooks/signing.ts';
import {
  type CallbackHeaders,
  type CallbackVerification,
  type CustodyTransport,
  type ReleaseInstruction,
  type TransportAnswer,
  TXID,
} from './custody-transport.ts';

export const CUSTODY_INSTRUCTION_TYPE = 'custody.release_instruction';
export const CUSTODY_TIMEOUT_MS = 10_000;
/** The most of an integrator's answer we read: a txid or a problem body, never a document. */
export const CUSTODY_MAX_ANSWER_BYTES = 16 * 1024;
/** A callback's `webhook-id`: a plain token (a '.' would make one signed string pass for another). */
export const CALLBACK_ID = /^[A-Za-z0-9_-]{1,128}$/;
const DETAIL_CHARS = 200;

/** The instruction's body: the same bytes for every hand-over of one withdrawal. */
export function custodyInstructionBody(instruction: ReleaseInstruction): string {
  return JSON.stringify({
    type: CUSTODY_INSTRUCTION_TYPE,
    withdrawal_id: instruction.withdrawal_id,
    asset: instruction.asset,
    network: instruction.network,
    amount: instruction.amount,
    destination: instruction.destination,
    attestation: instruction.attestation,
  });
}

export interface WebhookCustodyTransportOptions {
  /** Stamps `webhook-timestamp`: the receiver compares it with its own wall clock, so give the system clock. */
  readonly clock: Clock;
  /** The integrator's instruction endpoint; checked against `destinations` like every webhook receiver. */
  readonly url: string;
  readonly destinations: WebhookDestinationPolicy;
  /** Outbound whsec_ secret the integrator verifies instructions with. */
  readonly secret: string;
  /** Inbound whsec_ secret the integrator signs its status callbacks with (a different one). */
  readonly callbackSecret: string;
  readonly timeoutMs?: number;
  readonly maxAnswerBytes?: number;
}

/**
 * A custody signer run by the integrator, reached over HTTP. `send` POSTs the release instruction (with its
 * attestation) signed with Standard Webhooks, `webhook-id` the instruction's key; the integrator's answer decides:
 *
 * - 2xx with `{"txid": "..."}`: broadcast under that txid.
 * - 2xx without a txid (typically 202): accepted, the txid to come in a signed callback.
 * - 4xx other than 408 and 429: refused for certain, nothing was broadcast (with the problem body's detail).
 * - 3xx (never followed), 408, 429, 5xx, a timeout, a network error, an oversized or malformed 2xx: unknown.
 *
 * It cannot be asked what became of a withdrawal; its signer says so in callbacks, checked by `verifyCallback`.
 */
export class WebhookCustodyTransport implements CustodyTransport {
  readonly #clock: Clock;
  readonly #url: string;
  readonly #secret: string;
  readonly #callbackSecret: string;
  readonly #timeoutMs: number;
  readonly #maxAnswerBytes: number;

  constructor(options: WebhookCustodyTransportOptions) {
    assert(isWebhookSecret(options.secret), 'the custody webhook secret is a whsec_ secret');
    assert(isWebhookSecret(options.callbackSecret), 'the custody callback secret is a whsec_ secret');
    assert(options.secret !== options.callbackSecret, 'the custody webhook and callback secrets differ');
    this.#url = checkWebhookUrl(options.destinations, options.url);
    this.#clock = options.clock;
    this.#secret = options.secret;
    this.#callbackSecret = options.callbackSecret;
    this.#timeoutMs = options.timeoutMs ?? CUSTODY_TIMEOUT_MS;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? CUSTODY_MAX_ANSWER_BYTES;
  }

  async send(instruction: ReleaseInstruction, key: string): Promise<TransportAnswer> {
    const body = custodyInstructionBody(instruction);
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: {
          ...webhookHeaders([this.#secret], key, this.#clock.now(), body),
          'user-agent': 'Drawbridge-Custody/1',
        },
        body,
        // A redirect would take the instruction somewhere nobody allowed.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      return unknown(`the custody signer did not answer: ${describe(error)}`);
    }
    const { status } = response;
    let answer: { text: string; complete: boolean };
    try {
      answer = await readBounded(response, this.#maxAnswerBytes);
    } catch (error) {
      return unknown(`HTTP ${status}, answer cut short: ${describe(error)}`);
    }
    if (status >= 200 && status < 300) {
      if (!answer.complete)
        return unknown(`HTTP ${status} with an answer over ${this.#maxAnswerBytes} bytes`);
      const txid = txidOf(answer.text);
      if (txid === 'malformed') return unknown(`HTTP ${status} with an answer that is not {"txid": "..."}`);
      return txid === undefined ? { kind: 'accepted' } : { kind: 'broadcast', txid };
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return { kind: 'refused', reason: `HTTP ${status}: ${problemDetail(answer.text)}` };
    }
    if (status >= 300 && status < 400) {
      return unknown(`HTTP ${status}: redirect to ${response.headers.get('location') ?? '?'} not followed`);
    }
    return unknown(`HTTP ${status}: ${problemDetail(answer.text)}`);
  }

  verifyCallback(rawBody: string, headers: CallbackHeaders): CallbackVerification {
    return verifyCustodyCallback(this.#callbackSecret, rawBody, headers);
  }
}

function unknown(reason: string): TransportAnswer {
  return { kind: 'unknown', reason };
}

/** The txid of a 2xx answer; undefined when there is none (accepted, broadcast pending). */
function txidOf(text: string): string | undefined | 'malformed' {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'malformed';
  const txid = (parsed as { txid?: unknown }).txid;
  if (txid === undefined || txid === null) return undefined;
  return typeof txid === 'string' && TXID.test(txid) ? txid : 'malformed';
}

/** A problem body's `detail` (or `title`), else the start of the text; printable and bounded. */
function problemDetail(text: string): string {
  let detail = text;
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof parsed.detail === 'string') detail = parsed.detail;
    else if (typeof parsed.title === 'string') detail = parsed.title;
  } catch {
    // not JSON: the text itself
  }
  const printable = detail.replace(/\p{Cc}+/gu, ' ').trim();
  return printable === '' ? 'no detail' : printable.slice(0, DETAIL_CHARS);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return (cause?.code ?? cause?.message ?? error.message).slice(0, DETAIL_CHARS);
  }
  return 'unknown error';
}

/** At most `limit` bytes of the answer; `complete` says whether that was all of it. */
async function readBounded(response: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  const reader = response.body?.getReader();
  if (reader === undefined) return { text: '', complete: true };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = false;
  try {
    while (size <= limit) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return {
    text: Buffer.concat(chunks).subarray(0, limit).toString('utf8'),
    complete: complete && size <= limit,
  };
}

/**
 * Checks a status callback with the Standard Webhooks reference library: the HMAC under the inbound callback
 * secret over `{webhook-id}.{webhook-timestamp}.{body}`, and the timestamp within the library's tolerance (5
 * minutes either way) of this machine's clock. Anything malformed is a refusal, never an exception.
 */
export function verifyCustodyCallback(
  secret: string,
  rawBody: string,
  headers: CallbackHeaders,
): CallbackVerification {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
    return {
      ok: false,
      reason: 'webhook-id, webhook-timestamp and webhook-signature are required, once each',
    };
  }
  if (!CALLBACK_ID.test(id)) return { ok: false, reason: 'webhook-id is not a plain token' };
  // The library reads the number with parseInt, which would let "1700000000abc" pass for its prefix.
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not unix seconds' };
  if (signature.length > 1024) return { ok: false, reason: 'webhook-signature is too long' };
  try {
    new Webhook(secret).verify(
      rawBody,
      { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
      { jsonParse: false },
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/timestamp too (old|new)/i.test(message)) {
      return { ok: false, reason: 'webhook-timestamp is outside the 5-minute tolerance' };
    }
    return { ok: false, reason: 'the signature does not verify' };
  }
  return { ok: true, webhookId: id };
}
