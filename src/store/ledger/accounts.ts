import { assert, DomainError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { compiledOnce, engineOf, rowsOf } from '../compiled-query.ts';
import type { Reads, Tx } from '../transaction.ts';
import { LockedAccounts } from './account-locks.ts';
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
  const [row] = await rowsOf(tx, accountQuery(tx, input.ownerId, input.asset, input.kind));
  return row === undefined ? openMissing(tx, input, at) : sameRule(accountFromRow(row), input);
}

/**
 * Two accounts as openAccount gives them, read for a transfer between them later in this transaction: the rows
 * come back locked (PostgreSQL, in id order, as `lockAccounts` takes them), with a `LockedAccounts` for the
 * transfer, so the usual case costs one statement that a caller may send with its own reads. An account not open
 * yet is opened as openAccount does (and then locked by the transfer itself).
 */
export function accountPairReads(
  tx: Tx,
  first: OpenAccountInput,
  second: OpenAccountInput,
  at: Date,
): Reads<{ accounts: [Account, Account]; locked: LockedAccounts }> {
  checkOpenAccountInput(first);
  checkOpenAccountInput(second);
  assert(
    engineOf(tx) === 'sqlite' || tx.isTransaction,
    'ledger writes on PostgreSQL run inside a transaction',
  );
  const statement = selectAccountPair.statement(
    tx,
    first.ownerId,
    first.asset,
    first.kind,
    second.ownerId,
    second.asset,
    second.kind,
  );
  return {
    statements: [statement],
    decode: async ([result]) => {
      const found = ((result?.rows ?? []) as Parameters<typeof accountFromRow>[0][]).map(accountFromRow);
      const held = (input: OpenAccountInput) =>
        found.find((a) => a.ownerId === input.ownerId && a.asset === input.asset && a.kind === input.kind);
      const heldFirst = held(first);
      const heldSecond = held(second);
      const accounts: [Account, Account] = [
        heldFirst === undefined ? await openMissing(tx, first, at) : sameRule(heldFirst, first),
        heldSecond === undefined ? await openMissing(tx, second, at) : sameRule(heldSecond, second),
      ];
      return { accounts, locked: new LockedAccounts(tx, found) };
    },
  };
}

const selectAccountPair = compiledOnce(
  6,
  (tx: Tx, engine, o1: string, a1: string, k1: string, o2: string, a2: string, k2: string) => {
    const query = tx
      .selectFrom('ledger_accounts')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('owner_id', '=', o1), eb('asset', '=', a1), eb('kind', '=', k1)]),
          eb.and([eb('owner_id', '=', o2), eb('asset', '=', a2), eb('kind', '=', k2)]),
        ]),
      )
      .orderBy('id');
    return engine === 'postgres' ? query.forUpdate() : query;
  },
);

// Read first (openAccount): an account is opened once and read on every hold. On PostgreSQL an INSERT ... ON
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
