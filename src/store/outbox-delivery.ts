import { toTimestamp } from '../core/clock.ts';
import { assert } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database } from './database.ts';
import type { OutboxRow } from './outbox.ts';
import type { DeliveryLogTable } from './schema-notifications.ts';
import { committed, inTransaction, lockRows } from './transaction.ts';

export const MAX_CLAIM_BATCH = 500;

/**
 * Claims up to `limit` due messages for one dispatcher: in one short transaction, pushes each one's
 * next_attempt_at to the end of a lease and counts the attempt. On PostgreSQL the rows are read
 * `FOR UPDATE SKIP LOCKED`, so dispatchers on several nodes take disjoint batches without waiting on each other;
 * on SQLite BEGIN IMMEDIATE makes the claim the single writer's. A node that dies holding a claim only delays
 * those messages: they are due again when the lease ends. The rows come back as claimed (attempts counted).
 */
export async function claimDueMessages(
  database: Database,
  input: { now: Date; leaseMs: number; limit: number },
): Promise<OutboxRow[]> {
  assert(input.limit >= 1 && input.limit <= MAX_CLAIM_BATCH, 'a claim batch is 1..500 messages');
  assert(input.leaseMs >= 1000, 'a claim lease is at least a second');
  const now = toTimestamp(input.now);
  const leaseEnds = toTimestamp(new Date(input.now.getTime() + input.leaseMs));
  return inTransaction(database, async (tx) => {
    const due = tx
      .selectFrom('outbox')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(input.limit);
    const ids = (await (lockRows(database) ? due.forUpdate().skipLocked() : due).execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    await tx
      .updateTable('outbox')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: leaseEnds }))
      .where('id', 'in', ids)
      .execute();
    return tx
      .selectFrom('outbox')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  });
}

export type AttemptResult =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly nextAttemptAt: Date }
  | { readonly kind: 'failed' };

export interface AttemptRecord {
  readonly message: OutboxRow;
  readonly at: Date;
  readonly durationMs: number;
  readonly responseCode: number | null;
  readonly error: string | null;
  readonly result: AttemptResult;
}

/**
 * Logs one attempt and moves the message on. The update only applies while the claim is still ours (same attempt
 * count, still pending): if the lease ran out and another dispatcher took the message, its outcome wins and ours
 * stays in the log only. Returns whether the message row changed.
 */
export async function recordAttempt(database: Database, record: AttemptRecord): Promise<boolean> {
  const { message, result } = record;
  const log: DeliveryLogTable = {
    id: newId(),
    outbox_id: message.id,
    attempt: message.attempts,
    at: toTimestamp(record.at),
    status: result.kind === 'delivered' ? 'delivered' : 'failed',
    response_code: record.responseCode,
    error: record.error === null ? null : record.error.slice(0, 500),
    duration_ms: Math.max(0, Math.round(record.durationMs)),
  };
  return inTransaction(database, async (tx) => {
    await tx.insertInto('delivery_log').values(log).execute();
    const changes =
      result.kind === 'delivered'
        ? { status: 'delivered' as const, delivered_at: toTimestamp(record.at), last_error: null }
        : result.kind === 'retry'
          ? { next_attempt_at: toTimestamp(result.nextAttemptAt), last_error: log.error }
          : { status: 'failed' as const, last_error: log.error };
    const updated = await tx
      .updateTable('outbox')
      .set(changes)
      .where('id', '=', message.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', message.attempts)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  });
}

/** A message that will not be sent because its recipient turned that kind of notification off. */
export async function holdMessage(database: Database, message: OutboxRow, reason: string): Promise<void> {
  await committed(database, (db) =>
    db
      .updateTable('outbox')
      .set({ status: 'held', last_error: reason })
      .where('id', '=', message.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', message.attempts)
      .execute(),
  );
}

export async function deliveryLogOf(database: Database, outboxId: string, limit = 100) {
  return database.db
    .selectFrom('delivery_log')
    .selectAll()
    .where('outbox_id', '=', outboxId)
    .orderBy('attempt')
    .orderBy('at')
    .limit(limit)
    .execute();
}
