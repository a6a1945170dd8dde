import { DomainError } from '../../core/errors.ts';
import { hitRateLimits, type RateLimitRule } from '../../store/rate-limits.ts';
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

/**
 * Counts one attempt against each bucket in one statement that commits on its own (a refused request still counts)
 * and throws RATE_LIMITED with the seconds to wait when any bucket is over.
 */
export async function enforceRateLimits(
  context: ServiceContext,
  buckets: readonly (readonly [RateLimitName, string])[],
): Promise<void> {
  const now = context.clock.now();
  const verdicts = await committed(context.database, (db) =>
    hitRateLimits(
      db,
      buckets.map(([name, key]) => ({ bucket: `${name}:${key}`, rule: RATE_LIMITS[name] })),
      now,
    ),
  );
  const waits = verdicts.flatMap((v) => (v.allowed ? [] : [v.retryAfterSeconds]));
  if (waits.length > 0) {
    const retryAfter = Math.max(...waits);
    throw new DomainError('RATE_LIMITED', `too many attempts; retry after ${retryAfter} s`, {
      details: { retry_after_s: retryAfter },
    });
  }
}
