import { PostgresAdapter } from 'kysely';
import { assert } from '../../core/errors.ts';
import type { Tx } from '../transaction.ts';
import { accountFromRow } from './rows.ts';
import type { Account } from './types.ts';

function isPostgres(tx: Tx): boolean {
  return tx.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Reads the accounts a transfer touches and, on PostgreSQL, locks them until the transaction ends.
 * Locks are taken in id order so two transfers between the same accounts in opposite directions never
 * deadlock. On SQLite the caller's transaction (BEGIN IMMEDIATE, see `inTransaction`) already holds
 * the single write lock, so a plain read is enough.
 */
export async function lockAccounts(tx: Tx, ids: readonly string[]): Promise<Map<string, Account>> {
  assert(ids.length > 0 && ids.length <= 2, 'a transfer locks one or two accounts');
  const query = tx.selectFrom('ledger_accounts').selectAll().where('id', 'in', ids).orderBy('id');
  let rows: Awaited<ReturnType<typeof query.execute>>;
  if (isPostgres(tx)) {
    // Without a transaction the lock would be released as soon as the SELECT returns.
    assert(tx.isTransaction, 'ledger writes on PostgreSQL must run inside a transaction');
    rows = await query.forUpdate().execute();
  } else {
    rows = await query.execute();
  }
  return new Map(rows.map((row) => [row.id, accountFromRow(row)]));
}
