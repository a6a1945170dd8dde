import { assert, DomainError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Tx } from '../transaction.ts';
import { checkOpenAccountInput } from './input-rules.ts';
import { accountFromRow } from './rows.ts';
import type { Account, OpenAccountInput } from './types.ts';

/**
 * Opens the account of `ownerId` for `asset` and `kind`, or returns the one already open: there is
 * one account per (owner, asset, kind), so a retry or a race opens nothing twice. Asking again with
 * the other overdraft flag is a CONFLICT, never a silent change of the rule.
 */
export async function openAccount(tx: Tx, input: OpenAccountInput, at: Date): Promise<Account> {
  checkOpenAccountInput(input);
  // Read first: an account is opened once and read on every hold. On PostgreSQL an INSERT ... ON CONFLICT
  // against a row another transaction is updating waits for that transaction; a plain read does not.
  const open = await findAccount(tx, input.ownerId, input.asset, input.kind);
  if (open !== undefined) return sameRule(open, input);
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
  const row = await tx
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('asset', '=', asset)
    .where('kind', '=', kind)
    .executeTakeFirst();
  return row === undefined ? undefined : accountFromRow(row);
}

export async function getAccount(tx: Tx, id: string): Promise<Account | undefined> {
  const row = await tx.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : accountFromRow(row);
}
