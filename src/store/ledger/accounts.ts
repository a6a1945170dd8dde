import { assert, DomainError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { compiledOnce, rowsOf } from '../compiled-query.ts';
import { type Tx, together } from '../transaction.ts';
import { checkOpenAccountInput } from './input-rules.ts';
import { accountFromRow } from './rows.ts';
import type { Account, OpenAccountInput } from './types.ts';

/**
 * Opens the account of `ownerId` for `asset` and `kind`, or returns the one already open: there is
 * one account per (owner, asset, kind), so a retry or a race opens nothing twice. Asking again with
 * the other overdraft flag is a CONFLICT, never a silent change of the rule.
 */
export async function openAccount(tx: Tx, input: OpenAccountInput, at: Date): Promise<Account> {
  const [account] = await openAccounts(tx, [input], at);
  assert(account !== undefined, 'one account for one input');
  return account;
}

/**
 * openAccount for several accounts, read in one round trip: the usual case, where all are open already, costs
 * one trip whatever their number; an account not open yet is opened as openAccount does.
 */
export async function openAccounts(
  tx: Tx,
  inputs: readonly OpenAccountInput[],
  at: Date,
): Promise<Account[]> {
  for (const input of inputs) checkOpenAccountInput(input);
  const found = await together(
    tx,
    ...inputs.map((input) => accountQuery(tx, input.ownerId, input.asset, input.kind)),
  );
  const accounts: Account[] = [];
  for (const [i, input] of inputs.entries()) {
    const row = found[i]?.rows[0];
    accounts.push(
      row === undefined ? await openMissing(tx, input, at) : sameRule(accountFromRow(row), input),
    );
  }
  return accounts;
}

// Read first (openAccounts): an account is opened once and read on every hold. On PostgreSQL an INSERT ... ON
// CONFLICT against a row another transaction is updating waits for that transaction; a plain read does not.
async function openMissing(tx: Tx, input: OpenAccountInput, at: Date): Promise<Account> {
  await tx
    .insertInto('ledger_accounts')
    .values({
      id: newId(),
      owner_id: input.ownerId,
      asset: input.asset,
      kind: input.kind,
      debits_must_not_exceed_credits: input.debitsMustNotExceedCredits ? 1 : 0,
      posted_debits: '0',
      posted_credits: '0',
      pending_debits: '0',
      pending_credits: '0',
      created_at: at.toISOString(),
    })
    .onConflict((conflict) => conflict.columns(['owner_id', 'asset', 'kind']).doNothing())
    .execute();
  const account = await findAccount(tx, input.ownerId, input.asset, input.kind);
  assert(account !== undefined, 'an account exists right after it was opened');
  return sameRule(account, input);
}

function sameRule(account: Account, input: OpenAccountInput): Account {
  if (account.debitsMustNotExceedCredits !== input.debitsMustNotExceedCredits) {
    throw new DomainError(
      'CONFLICT',
      `account ${account.id} is already open with debitsMustNotExceedCredits=${account.debitsMustNotExceedCredits}`,
      {
        field: 'debitsMustNotExceedCredits',
        details: { accountId: account.id, differs: ['debitsMustNotExceedCredits'] },
      },
    );
  }
  return account;
}

export async function findAccount(
  tx: Tx,
  ownerId: string,
  asset: string,
  kind: string,
): Promise<Account | undefined> {
  const [row] = await rowsOf(tx, accountQuery(tx, ownerId, asset, kind));
  return row === undefined ? undefined : accountFromRow(row);
}

function accountQuery(tx: Tx, ownerId: string, asset: string, kind: string) {
  return selectAccount.statement(tx, ownerId, asset, kind);
}

const selectAccount = compiledOnce(3, (tx: Tx, _engine, ownerId: string, asset: string, kind: string) =>
  tx
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('asset', '=', asset)
    .where('kind', '=', kind),
);

export async function getAccount(tx: Tx, id: string): Promise<Account | undefined> {
  const row = await tx.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : accountFromRow(row);
}
