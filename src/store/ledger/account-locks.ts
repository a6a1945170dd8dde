import { assert } from '../../core/errors.ts';
import { compiledOnce, engineOf } from '../compiled-query.ts';
import type { Tx } from '../transaction.ts';
import { accountFromRow } from './rows.ts';
import type { Account } from './types.ts';

const selectTwoAccounts = compiledOnce(2, (tx: Tx, engine, first: string, second: string) => {
  const query = tx.selectFrom('ledger_accounts').selectAll().where('id', 'in', [first, second]).orderBy('id');
  return engine === 'postgres' ? query.forUpdate() : query;
});

/**
 * Reads the two accounts of a transfer and, on PostgreSQL, locks them until the transaction ends.
 * Locks are taken in id order so two transfers between the same accounts in opposite directions never
 * deadlock. On SQLite the caller's transaction (BEGIN IMMEDIATE, see `inTransaction`) already holds
 * the single write lock, so a plain read is enough.
 */
export async function lockAccounts(tx: Tx, debitId: string, creditId: string): Promise<Map<string, Account>> {
  // Without a transaction the lock would be released as soon as the SELECT returns.
  assert(
    engineOf(tx) === 'sqlite' || tx.isTransaction,
    'ledger writes on PostgreSQL run inside a transaction',
  );
  const { rows } = await selectTwoAccounts(tx, debitId, creditId);
  return new Map(rows.map((row) => [row.id, accountFromRow(row)]));
}
