import { type Kysely, sql } from 'kysely';
import { type CompiledOnce, compiledOnce } from './compiled-query.ts';
import type { Schema } from './schema.ts';
import { type Reads, readTogether, type Tx } from './transaction.ts';

export interface RateLimitRule {
  readonly limit: number;
  readonly window_ms: number;
}

export type RateLimitVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Fixed-window counters kept in the database, so every node shares one count: one upsert statement for all the
 * buckets a request is counted in, atomic on both engines and committed on its own, so the hits count even when
 * the request they guard fails. Rows are touched in bucket order, so two requests never lock each other's rows
 * in opposite orders.
 */
export async function hitRateLimits(
  db: Kysely<Schema>,
  hits: readonly RateLimitHit[],
  now: Date,
): Promise<RateLimitVerdict[]> {
  const [verdicts] = await readTogether(db, rateLimitHits(db, hits, now));
  return verdicts;
}

export interface RateLimitHit {
  readonly bucket: string;
  readonly rule: RateLimitRule;
}

/** hitRateLimits' statement and verdicts, for a caller that sends it with its own (transaction.ts `readTogether`). */
export function rateLimitHits(
  db: Kysely<Schema>,
  hits: readonly RateLimitHit[],
  now: Date,
): Reads<RateLimitVerdict[]> {
  const windows = new Map<string, { startMs: number; rule: RateLimitRule }>();
  for (const { bucket, rule } of hits) {
    windows.set(bucket, { startMs: Math.floor(now.getTime() / rule.window_ms) * rule.window_ms, rule });
  }
  if (windows.size === 0) return { statements: [], decode: () => [] };
  const keys = [...windows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([bucket, { startMs }]) => [bucket, new Date(startMs).toISOString()]);
  return {
    statements: [hitsStatement(windows.size).statement(db, ...keys)],
    decode: ([result]) => {
      const rows = (result?.rows ?? []) as { bucket: string; hits: number | string }[];
      const counted = new Map(rows.map((row) => [row.bucket, Number(row.hits)]));
      return hits.map(({ bucket }) => {
        const window = windows.get(bucket);
        const count = counted.get(bucket);
        if (window === undefined || count === undefined)
          throw new Error(`assertion failed: rate-limit bucket ${bucket} was not counted`);
        if (count <= window.rule.limit) return { allowed: true };
        const retryAfterSeconds = Math.max(
          1,
          Math.ceil((window.startMs + window.rule.window_ms - now.getTime()) / 1000),
        );
        return { allowed: false, retryAfterSeconds };
      });
    },
  };
}

type HitsStatement = CompiledOnce<string[], { bucket: string; hits: number | string }>;

// The upsert for n buckets, compiled once per n (a request counts in one to three buckets).
const hitsStatements = new Map<number, HitsStatement>();

function hitsStatement(buckets: number): HitsStatement {
  let statement = hitsStatements.get(buckets);
  if (statement === undefined) {
    statement = compiledOnce(2 * buckets, (tx: Tx, _engine, ...keys: string[]) =>
      tx
        .insertInto('rate_limits')
        .values(
          Array.from({ length: buckets }, (_, i) => ({
            bucket: keys[2 * i]!,
            window_start: keys[2 * i + 1]!,
            hits: 1,
          })),
        )
        .onConflict((conflict) =>
          conflict.columns(['bucket', 'window_start']).doUpdateSet({ hits: sql`rate_limits.hits + 1` }),
        )
        .returning(['bucket', 'hits']),
    );
    hitsStatements.set(buckets, statement);
  }
  return statement;
}

/** Old windows are useless; the caller prunes them now and then. */
export async function pruneRateLimits(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('rate_limits').where('window_start', '<', before.toISOString()).execute();
}
