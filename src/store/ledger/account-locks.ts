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
export async function lockAccounts(
  tx: Tx,
  debitId: string,
  creditId: string,
  held?: LockedAccounts,
): Promise<Map<string, Account>> {
  const taken = held?.take(tx, debitId, creditId);
  if (taken !== undefined) return taken;
  // Without a transaction the lock would be released as soon as the SELECT returns.
  assert(
    engineOf(tx) === 'sqlite' || tx.isTransaction,
    'ledger writes on PostgreSQL run inside a transaction',
  );
  const { rows } = await selectTwoAccounts(tx, debitId, creditId);
  return new Map(rows.map((row) => [row.id, accountFromRow(row)]));
}

/** lockAccounts for any number of accounts (in id order, so it never deadlocks with lockAccounts), in one statement. */
export async function lockAccountSet(tx: Tx, ids: readonly string[]): Promise<Map<string, Account>> {
  assert(
    engineOf(tx) === 'sqlite' || tx.isTransaction,
    'ledger writes on PostgreSQL run inside a transaction',
  );
  if (ids.length === 0) return new Map();
  const query = tx
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id');
  const rows = await (engineOf(tx) === 'postgres' ? query.forUpdate() : query).execute();
  return new Map(rows.map((row) => [row.id, accountFromRow(row)]));
}

/**
 * Accounts read in this transaction with their rows locked (PostgreSQL, in id order; on SQLite the transaction
 * holds the write lock), for one transfer later in the same transaction, which then need not read and lock them
 * again. Good once, for that transaction and those accounts: a second transfer would see totals the first one
 * changed, so it locks and reads again.
 */
export class LockedAccounts {
  readonly #tx: Tx;
  #accounts: Map<string, Account> | undefined;

  constructor(tx: Tx, accounts: readonly Account[]) {
    this.#tx = tx;
    this.#accounts = new Map(accounts.map((account) => [account.id, account]));
  }

  /** The accounts, if they are both here and this is the transaction they were locked in; then never again. */
  take(tx: Tx, debitId: string, creditId: string): Map<string, Account> | undefined {
    const accounts = this.#accounts;
    if (tx !== this.#tx || accounts === undefined || !accounts.has(debitId) || !accounts.has(creditId))
      return undefined;
    this.#accounts = undefined;
    return accounts;
  }
}
