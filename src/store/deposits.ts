import type { Database } from './database.ts';
import type { DepositRequestsTable, DepositsTable } from './schema-withdrawals.ts';
import { lockRows, type Queryable, queryable, type Tx } from './transaction.ts';

export type DepositRow = Readonly<DepositsTable>;
export type DepositRequestRow = Readonly<DepositRequestsTable>;

/** The deposit already credited for one chain output (network, txid, output index), if any. */
export async function findDepositByOutput(
  tx: Tx,
  network: string,
  txid: string,
  outputIndex: number,
): Promise<DepositRow | undefined> {
  return tx
    .selectFrom('deposits')
    .selectAll()
    .where('network', '=', network)
    .where('txid', '=', txid)
    .where('output_index', '=', outputIndex)
    .executeTakeFirst();
}

export async function insertDeposit(tx: Tx, row: DepositsTable): Promise<void> {
  await tx.insertInto('deposits').values(row).execute();
}

/** The request recorded for one chain output and not rejected, if any. */
export async function findDepositRequestByOutput(
  tx: Tx,
  network: string,
  txid: string,
  outputIndex: number,
): Promise<DepositRequestRow | undefined> {
  return tx
    .selectFrom('deposit_requests')
    .selectAll()
    .where('network', '=', network)
    .where('txid', '=', txid)
    .where('output_index', '=', outputIndex)
    .where('rejected_at', 'is', null)
    .executeTakeFirst();
}

export async function insertDepositRequest(tx: Tx, row: DepositRequestsTable): Promise<void> {
  await tx.insertInto('deposit_requests').values(row).execute();
}

/** One request, locked on PostgreSQL (two approvals at once: the second waits, then sees the first). */
export async function lockDepositRequest(
  database: Database,
  tx: Tx,
  id: string,
): Promise<DepositRequestRow | undefined> {
  const query = tx.selectFrom('deposit_requests').selectAll().where('id', '=', id);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

/** Marks a request approved by `approvedBy`, once: false when another approval got there first. */
export async function approveDepositRequest(
  tx: Tx,
  id: string,
  approval: { approvedBy: string; approvedAt: string; depositId: string },
): Promise<boolean> {
  const result = await tx
    .updateTable('deposit_requests')
    .set({
      approved_by: approval.approvedBy,
      approved_at: approval.approvedAt,
      deposit_id: approval.depositId,
    })
    .where('id', '=', id)
    .where('approved_by', 'is', null)
    .where('rejected_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Marks a request rejected, once: false when it was decided meanwhile. */
export async function rejectDepositRequest(
  tx: Tx,
  id: string,
  rejection: { rejectedBy: string; rejectedAt: string; reason: string },
): Promise<boolean> {
  const result = await tx
    .updateTable('deposit_requests')
    .set({
      rejected_by: rejection.rejectedBy,
      rejected_at: rejection.rejectedAt,
      rejection_reason: rejection.reason,
    })
    .where('id', '=', id)
    .where('approved_by', 'is', null)
    .where('rejected_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Requests awaiting a second operator, oldest first: at most `limit` (1..500) and whether more wait beyond them
 * (the read takes one more row to know). A list for people: no decision rests on it (an approval reads its request
 * by id, locked).
 */
export async function pendingDepositRequests(
  on: Queryable,
  limit: number,
): Promise<{ requests: DepositRequestRow[]; more: boolean }> {
  const rows = await queryable(on)
    .selectFrom('deposit_requests')
    .selectAll()
    .where('approved_by', 'is', null)
    .where('rejected_at', 'is', null)
    .orderBy('recorded_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  return { requests: rows.slice(0, limit), more: rows.length > limit };
}
