import { DomainError } from '../../core/errors.ts';
import {
  hitRateLimits,
  type RateLimitHit,
  type RateLimitRule,
  type RateLimitVerdict,
} from '../../store/rate-limits.ts';
import { committed } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';

/** The limits per IP and per account; they live together so a reviewer sees the whole policy at once. */
export const RATE_LIMITS = Object.freeze({
  signup_per_ip: { limit: 10, window_ms: 60 * 60_000 },
  login_per_ip: { limit: 30, window_ms: 60_000 },
  login_per_account: { limit: 10, window_ms: 60_000 },
  mfa_per_ip: { limit: 30, window_ms: 60_000 },
  mfa_per_account: { limit: 10, window_ms: 60_000 },
  email_link_per_ip: { limit: 20, window_ms: 60 * 60_000 },
} satisfies Record<string, RateLimitRule>);

export type RateLimitName = keyof typeof RATE_LIMITS;

export type RateLimitBuckets = readonly (readonly [RateLimitName, string])[];

/**
 * Counts one attempt against each bucket in one statement that commits on its own (a refused request still counts)
 * and throws RATE_LIMITED with the seconds to wait when any bucket is over.
 */
export async function enforceRateLimits(context: ServiceContext, buckets: RateLimitBuckets): Promise<void> {
  refuseOverLimit(await countAttempt(context, buckets));
}

/** The buckets as the store counts them, for a transaction that counts the attempt inside itself. */
export function attemptOf(buckets: RateLimitBuckets): RateLimitHit[] {
  return buckets.map(([name, key]) => ({ bucket: `${name}:${key}`, rule: RATE_LIMITS[name] }));
}

/** RATE_LIMITED with the longest wait, when any bucket is over. */
export function refuseOverLimit(verdicts: readonly RateLimitVerdict[]): void {
  const waits = verdicts.flatMap((v) => (v.allowed ? [] : [v.retryAfterSeconds]));
  if (waits.length > 0) {
    const retryAfter = Math.max(...waits);
    throw new DomainError('RATE_LIMITED', `too many attempts; retry after ${retryAfter} s`, {
      details: { retry_after_s: retryAfter },
    });
  }
}

/**
 * For a transaction that counts its attempt inside itself (attemptOf): when it rolls back, its count went with it,
 * so the attempt is counted again on its own. A refused or failed attempt always counts.
 */
export async function attemptCountedAnyway<T>(
  context: ServiceContext,
  buckets: RateLimitBuckets,
  transaction: () => Promise<T>,
): Promise<T> {
  try {
    return await transaction();
  } catch (error) {
    await countAttempt(context, buckets);
    throw error;
  }
}

function countAttempt(context: ServiceContext, buckets: RateLimitBuckets): Promise<RateLimitVerdict[]> {
  const now = context.clock.now();
  return committed(context.database, (db) => hitRateLimits(db, attemptOf(buckets), now));
}
