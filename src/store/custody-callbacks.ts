import type { Kysely } from 'kysely';
import type { Database } from './database.ts';
import type { Schema } from './schema.ts';
import type { CustodyCallbacksTable, CustodyHandoffsTable } from './schema-withdrawals.ts';
import { committed, lockRows, type Queryable, queryable, type Tx } from './transaction.ts';

export type CustodyHandoffRow = Readonly<CustodyHandoffsTable>;
export type CustodyCallbackRow = Readonly<CustodyCallbacksTable>;
export type CustodyReport = CustodyCallbacksTable['status'];

/**
 * Notes that a withdrawal is being handed to the webhook custody signer. Written before the instruction leaves,
 * so a status callback that overtakes the integrator's answer finds it; a second hand-over (a retry after a
 * crash, another node) keeps the first row and what was reported since.
 */
export async function recordHandoff(
  database: Database,
  input: { withdrawalId: string; messageId: string; at: Date },
): Promise<void> {
  const at = input.at.toISOString();
  await committed(database, (db) =>
    db
      .insertInto('custody_handoffs')
      .values({
        withdrawal_id: input.withdrawalId,
        message_id: input.messageId,
        status: 'submitted',
        txid: null,
        submitted_at: at,
        updated_at: at,
      })
      .onConflict((conflict) => conflict.column('withdrawal_id').doNothing())
      .execute(),
  );
}

export async function findHandoff(
  on: Queryable,
  withdrawalId: string,
): Promise<CustodyHandoffRow | undefined> {
  const db = queryable(on);
  return db
    .selectFrom('custody_handoffs')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .executeTakeFirst();
}

/** The integrator accepted the instruction without a txid (202): noted once, the first time. */
export async function markAccepted(database: Database, withdrawalId: string, at: Date): Promise<void> {
  await committed(database, (db) =>
    db
      .updateTable('custody_handoffs')
      .set({ accepted_at: at.toISOString() })
      .where('withdrawal_id', '=', withdrawalId)
      .where('accepted_at', 'is', null)
      .execute(),
  );
}

/** Reads a hand-over to change it: on PostgreSQL the row stays locked until the transaction ends. */
export async function lockHandoff(
  database: Database,
  tx: Tx,
  withdrawalId: string,
): Promise<CustodyHandoffRow | undefined> {
  const query = tx.selectFrom('custody_handoffs').selectAll().where('withdrawal_id', '=', withdrawalId);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

export async function updateHandoff(
  tx: Tx,
  withdrawalId: string,
  changes: { status: CustodyHandoffsTable['status']; txid: string | null; at: Date },
): Promise<void> {
  await tx
    .updateTable('custody_handoffs')
    .set({ status: changes.status, txid: changes.txid, updated_at: changes.at.toISOString() })
    .where('withdrawal_id', '=', withdrawalId)
    .execute();
}

/**
 * Claims a callback's `webhook-id` for this transaction. False when the id is already taken (by a committed
 * callback, or one committing right now: PostgreSQL waits for it), in which case the caller reads that one.
 */
export async function claimCallback(
  tx: Tx,
  row: Omit<CustodyCallbacksTable, 'outcome' | 'answer_code' | 'reason'>,
): Promise<boolean> {
  const result = await tx
    .insertInto('custody_callbacks')
    .values({ ...row, outcome: 'pending', answer_code: 0, reason: null })
    .onConflict((conflict) => conflict.column('webhook_id').doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

export async function findCallback(tx: Tx, webhookId: string): Promise<CustodyCallbackRow | undefined> {
  return tx
    .selectFrom('custody_callbacks')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .executeTakeFirst();
}

/** What a claimed callback came to, so its replays get the same answer. */
export async function settleCallback(
  tx: Tx,
  webhookId: string,
  result: {
    outcome: Exclude<CustodyCallbacksTable['outcome'], 'pending'>;
    answerCode: number;
    reason: string | null;
  },
): Promise<void> {
  await tx
    .updateTable('custody_callbacks')
    .set({ outcome: result.outcome, answer_code: result.answerCode, reason: result.reason })
    .where('webhook_id', '=', webhookId)
    .execute();
}

/** The callbacks received about one withdrawal, oldest first (for operators and tests). */
export async function callbacksAbout(
  db: Kysely<Schema>,
  withdrawalId: string,
): Promise<CustodyCallbackRow[]> {
  return db
    .selectFrom('custody_callbacks')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('received_at')
    .orderBy('webhook_id')
    .execute();
}
