import type { EmailSender } from '../adapters/email/email-sender.ts';
import { checkWebhookUrl, type WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import type { DeliveryOutcome, WebhookSender } from '../adapters/webhooks/sender.ts';
import type { Clock } from '../core/clock.ts';
import { assert, DomainError } from '../core/errors.ts';
import { signingSecrets } from '../services/webhooks.ts';
import type { Database } from '../store/database.ts';
import { isNotificationMuted } from '../store/notification-preferences.ts';
import type { OutboxRow } from '../store/outbox.ts';
import {
  type AttemptResult,
  claimDueMessages,
  holdMessage,
  recordAttempt,
} from '../store/outbox-delivery.ts';
import { findWebhookEndpoint } from '../store/webhooks.ts';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from './outbox-backoff.ts';

export interface OutboxDispatcherOptions {
  readonly database: Database;
  readonly clock: Clock;
  readonly email: EmailSender;
  readonly webhooks: WebhookSender;
  /** The key that seals secrets at rest (ServiceContext.totpKey): opens webhook signing secrets. */
  readonly secretKey: Buffer;
  /** Checked again at delivery: a host taken off the allowlist gets nothing more. */
  readonly destinations: WebhookDestinationPolicy;
  readonly batchSize?: number;
  /** How long a claim keeps other dispatchers off a message; every send times out well inside it. */
  readonly leaseMs?: number;
  /** Messages of one batch in flight at once. */
  readonly concurrency?: number;
  readonly pollIntervalMs?: number;
  readonly retry?: RetryPolicy;
  /** The jitter source, [0, 1). */
  readonly random?: () => number;
  /** Told about a failed round (database down); the loop waits a poll interval and goes on. */
  readonly onError?: (error: unknown) => void;
  /** Told each attempt's result once it is recorded (the domain log: notification sent, retried or failed). */
  readonly onAttempt?: (
    message: OutboxRow,
    result: AttemptResult['kind'] | 'held',
    error: string | null,
  ) => void;
}

export interface DispatchReport {
  readonly claimed: number;
  readonly delivered: number;
  readonly retried: number;
  readonly failed: number;
  readonly held: number;
}

export interface OutboxDispatcher {
  /** One claim-deliver-record round; what the loop runs, and what tests call. */
  runOnce(): Promise<DispatchReport>;
  start(): void;
  /** Ends the loop after the round in progress. */
  stop(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_BATCH = 50;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_POLL_MS = 1_000;
const MIN_POLL_MS = 10;
const MAX_POLL_MS = 60_000;

/** Failures that no retry can mend: the message fails now instead of twelve times. */
class PermanentFailure extends Error {}

/**
 * Delivers the outbox at least once. Each message's outbox id is its email Message-ID and its `webhook-id`, so
 * the only duplicate a recipient can see is the same id again (after a crash between sending and recording).
 * Security emails always go; other emails obey the account's notification preferences.
 */
export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  const retry = checkRetryPolicy(options.retry ?? DEFAULT_RETRY_POLICY);
  const random = options.random ?? Math.random;
  assert(concurrency >= 1 && concurrency <= 64, 'dispatch concurrency is 1..64');
  assert(pollMs >= MIN_POLL_MS && pollMs <= MAX_POLL_MS, 'the poll interval is 10 ms..60 s');

  async function send(message: OutboxRow): Promise<DeliveryOutcome | 'held'> {
    if (message.channel === 'email') {
      if (message.security === 0 && message.account_id !== null) {
        if (await isNotificationMuted(options.database.db, message.account_id, message.event)) return 'held';
      }
      return options.email.send({
        id: message.id,
        to: message.recipient,
        subject: message.subject,
        text: message.body_text,
        html: message.body_html,
      });
    }
    const endpoint = await findWebhookEndpoint(options.database.db, message.recipient);
    if (endpoint === undefined || endpoint.status !== 'active') {
      throw new PermanentFailure('the webhook endpoint is disabled');
    }
    try {
      checkWebhookUrl(options.destinations, endpoint.url);
    } catch (error) {
      if (error instanceof DomainError) throw new PermanentFailure(`destination refused: ${error.message}`);
      throw error;
    }
    const now = options.clock.now();
    return options.webhooks.send({
      id: message.id,
      url: endpoint.url,
      body: message.payload,
      secrets: signingSecrets(options.secretKey, endpoint, now),
      at: now,
    });
  }

  async function deliver(message: OutboxRow): Promise<keyof Omit<DispatchReport, 'claimed'>> {
    const at = options.clock.now();
    const started = performance.now();
    let outcome: DeliveryOutcome;
    let permanent = false;
    try {
      const sent = await send(message);
      if (sent === 'held') {
        await holdMessage(options.database, message, 'the recipient turned this notification off');
        options.onAttempt?.(message, 'held', null);
        return 'held';
      }
      outcome = sent;
    } catch (error) {
      permanent = error instanceof PermanentFailure;
      outcome = {
        delivered: false,
        responseCode: null,
        error: error instanceof Error ? error.message : 'error',
      };
    }
    const result: AttemptResult = outcome.delivered
      ? { kind: 'delivered' }
      : permanent || message.attempts >= retry.maxAttempts
        ? { kind: 'failed' }
        : {
            kind: 'retry',
            nextAttemptAt: new Date(
              options.clock.now().getTime() + retryDelayMs(retry, message.attempts, random),
            ),
          };
    await recordAttempt(options.database, {
      message,
      at,
      durationMs: performance.now() - started,
      responseCode: outcome.responseCode,
      error: outcome.error,
      result,
    });
    options.onAttempt?.(message, result.kind, outcome.error ?? null);
    return result.kind === 'retry' ? 'retried' : result.kind;
  }

  async function runOnce(): Promise<DispatchReport> {
    const claimed = await claimDueMessages(options.database, {
      now: options.clock.now(),
      leaseMs,
      limit: batchSize,
    });
    const counts = { delivered: 0, retried: 0, failed: 0, held: 0 };
    let next = 0;
    const worker = async () => {
      while (next < claimed.length) {
        const message = claimed[next++]!;
        counts[await deliver(message)] += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, claimed.length) }, worker));
    return { claimed: claimed.length, ...counts };
  }

  let running: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;

  async function loop(): Promise<void> {
    while (!stopping) {
      let full = false;
      try {
        full = (await runOnce()).claimed === batchSize;
      } catch (error) {
        options.onError?.(error);
      }
      // A full batch means more is waiting: go again at once. Otherwise sleep, bounded, unless told to stop.
      if (!full && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    runOnce,
    start() {
      if (running !== undefined) return;
      stopping = false;
      running = loop();
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
      running = undefined;
    },
  };
}
