import { assert } from '../core/errors.ts';

/** How a failed message is retried: exponential backoff with full jitter, capped, for a bounded number of tries. */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly maxAttempts: number;
}

/** 12 attempts, waits up to 5 s, 10 s, 20 s ... 1 h: about a day of trying at worst before a message fails. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseMs: 5_000,
  capMs: 60 * 60_000,
  maxAttempts: 12,
});

/** A draw of zero must not turn a failing receiver into a busy loop. */
export const MIN_RETRY_DELAY_MS = 250;

/**
 * The wait after failed attempt number `attempt` (1-based): uniform in [0, min(cap, base * 2^(attempt-1))), at
 * least MIN_RETRY_DELAY_MS. Full jitter spreads the retries of a burst of failures so a recovering receiver is
 * not hit all at once.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  assert(Number.isInteger(attempt) && attempt >= 1, 'attempts are counted from 1');
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 40));
  const draw = random();
  assert(draw >= 0 && draw < 1, 'a jitter draw is in [0, 1)');
  return Math.max(MIN_RETRY_DELAY_MS, Math.floor(draw * ceiling));
}

export function checkRetryPolicy(policy: RetryPolicy): RetryPolicy {
  assert(policy.baseMs >= 1 && policy.capMs >= policy.baseMs, 'retry base is positive and under the cap');
  assert(policy.maxAttempts >= 1 && policy.maxAttempts <= 100, 'a message is tried 1..100 times');
  return policy;
}
