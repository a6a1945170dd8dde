import { sql } from 'kysely';
import type { Tx } from './transaction.ts';

export interface RateLimitRule {
  readonly limit: number;
  readonly window_ms: number;
}

export type RateLimitVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Fixed-window counter kept in the database, so every node shares one count. The upsert is atomic on both
 * engines; the caller commits it even when the request it guards fails.
 */
export async function hitRateLimit(
  tx: Tx,
  bucket: string,
  rule: RateLimitRule,
  now: Date,
): Promise<RateLimitVerdict> {
  const windowStartMs = Math.floor(now.getTime() / rule.window_ms) * rule.window_ms;
  const windowStart = new Date(windowStartMs).toISOString();
  const row = await tx
    .insertInto('rate_limits')
    .values({ bucket, window_start: windowStart, hits: 1 })
    .onConflict((conflict) =>
      conflict.columns(['bucket', 'window_start']).doUpdateSet({ hits: sql`rate_limits.hits + 1` }),
    )
    .returning('hits')
    .executeTakeFirstOrThrow();
  if (row.hits <= rule.limit) return { allowed: true };
  const retryAfterSeconds = Math.max(1, Math.ceil((windowStartMs + rule.window_ms - now.getTime()) / 1000));
  return { allowed: false, retryAfterSeconds };
}

/** Old windows are useless; the caller prunes them now and then. */
export async function pruneRateLimits(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('rate_limits').where('window_start', '<', before.toISOString()).execute();
}
