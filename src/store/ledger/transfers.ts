import { assert, DomainError, invalidInput } from '../../core/errors.ts';
import type { LedgerTransfersTable } from '../schema.ts';
import type { Tx } from '../transaction.ts';
import { lockAccounts } from './account-locks.ts';
import { AMOUNT_LIMIT, checkResolveHoldInput, checkTransferInput } from './input-rules.ts';
import { amountToRow, transferFromRow } from './rows.ts';
import {
  type Account,
  availableOf,
  type ResolveHoldInput,
  type Transfer,
  type TransferInput,
  type TransferKind,
} from './types.ts';

/*
 * TigerBeetle-style transfers. Each function works inside the caller's transaction (`Tx` from
 * `inTransaction`), so a service can place a hold in the same transaction as its own writes.
 * Every check runs before the first write: a refusal leaves the transaction as clean as it found it,
 * and a caller that catches the error may still commit its other work.
 *
 * Retries: the caller chooses the transfer id. The same id with the same fields returns the first
 * transfer, unchanged ("handle `exists` exactly as `created`"); the same id with any other field is a
 * CONFLICT naming the fields that differ.
 */

/** A single-phase transfer: both sides are posted at once. */
export function transfer(tx: Tx, input: TransferInput, at: Date): Promise<Transfer> {
  return createTransfer(tx, 'posted', input, at);
}

/** Reserves `amount` on the debit account until the hold is posted or voided, with no timeout. */
export function placeHold(tx: Tx, input: TransferInput, at: Date): Promise<Transfer> {
  return createTransfer(tx, 'pending', input, at);
}

/** Turns the whole hold into a posted transfer. A hold is posted or voided at most once. */
export function postHold(tx: Tx, input: ResolveHoldInput, at: Date): Promise<Transfer> {
  return resolveHold(tx, 'post_pending', input, at);
}

/** Releases the whole hold back to the debit account's available balance. */
export function voidHold(tx: Tx, input: ResolveHoldInput, at: Date): Promise<Transfer> {
  return resolveHold(tx, 'void_pending', input, at);
}

export async function getTransfer(tx: Tx, id: string): Promise<Transfer | undefined> {
  const row = await tx.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : transferFromRow(row);
}

type Totals = Pick<Account, 'postedDebits' | 'postedCredits' | 'pendingDebits' | 'pendingCredits'>;

async function createTransfer(
  tx: Tx,
  kind: 'posted' | 'pending',
  input: TransferInput,
  at: Date,
): Promise<Transfer> {
  checkTransferInput(input);
  // Lock first, then look for the id: a concurrent retry of the same id waits on the lock and then
  // finds the committed first attempt instead of failing on the primary key.
  const accounts = await lockAccounts(tx, [input.debitAccountId, input.creditAccountId]);
  const existing = await tx
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('id', '=', input.id)
    .executeTakeFirst();
  const reference = input.reference ?? null;
  if (existing !== undefined) {
    return sameOrConflict(existing, { ...input, kind, reference, pendingId: null });
  }
  const debit = accounts.get(input.debitAccountId);
  const credit = accounts.get(input.creditAccountId);
  if (debit === undefined)
    throw invalidInput('debitAccountId', `account ${input.debitAccountId} does not exist`);
  if (credit === undefined) {
    throw invalidInput('creditAccountId', `account ${input.creditAccountId} does not exist`);
  }
  if (debit.asset !== credit.asset) {
    throw invalidInput(
      'creditAccountId',
      `account holds ${credit.asset}, the debit account holds ${debit.asset}`,
    );
  }
  if (debit.asset !== input.asset)
    throw invalidInput('asset', `the accounts hold ${debit.asset}, not ${input.asset}`);

  const amount = input.amount;
  if (debit.debitsMustNotExceedCredits && availableOf(debit) < amount) {
    throw new DomainError('INSUFFICIENT_FUNDS', `account ${debit.id} cannot cover ${amount} ${debit.asset}`, {
      field: 'amount',
      details: {
        accountId: debit.id,
        asset: debit.asset,
        available: availableOf(debit).toString(),
        requested: amount.toString(),
      },
    });
  }
  const debitAfter =
    kind === 'posted'
      ? { ...debit, postedDebits: debit.postedDebits + amount }
      : { ...debit, pendingDebits: debit.pendingDebits + amount };
  const creditAfter =
    kind === 'posted'
      ? { ...credit, postedCredits: credit.postedCredits + amount }
      : { ...credit, pendingCredits: credit.pendingCredits + amount };
  checkLimits(debitAfter);
  checkLimits(creditAfter);
  await writeTotals(tx, debit, debitAfter);
  await writeTotals(tx, credit, creditAfter);
  return insertTransfer(tx, {
    id: input.id,
    kind,
    debit_account_id: debit.id,
    credit_account_id: credit.id,
    asset: debit.asset,
    amount: amountToRow(amount),
    pending_id: null,
    code: input.code,
    reference,
    created_at: at.toISOString(),
  });
}

async function resolveHold(
  tx: Tx,
  kind: 'post_pending' | 'void_pending',
  input: ResolveHoldInput,
  at: Date,
): Promise<Transfer> {
  checkResolveHoldInput(input);
  const pendingRow = await tx
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('id', '=', input.pendingId)
    .executeTakeFirst();
  if (pendingRow === undefined) throw invalidInput('pendingId', `transfer ${input.pendingId} does not exist`);
  const pending = transferFromRow(pendingRow);
  if (pending.kind !== 'pending') throw invalidInput('pendingId', `transfer ${pending.id} is not a hold`);

  const accounts = await lockAccounts(tx, [pending.debitAccountId, pending.creditAccountId]);
  // Read under the lock: whoever resolved the hold first has committed by now.
  const related = await tx
    .selectFrom('ledger_transfers')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', input.id), eb('pending_id', '=', pending.id)]))
    .execute();
  assert(related.length <= 2, 'one transfer per id and at most one resolution per hold');
  const reference = input.reference ?? null;
  const existing = related.find((row) => row.id === input.id);
  if (existing !== undefined) {
    return sameOrConflict(existing, { ...pending, kind, pendingId: pending.id, code: input.code, reference });
  }
  const resolution = related.find((row) => row.pending_id === pending.id);
  if (resolution !== undefined) {
    const how = resolution.kind === 'post_pending' ? 'posted' : 'voided';
    throw new DomainError('ALREADY_RESOLVED', `hold ${pending.id} was already ${how} by ${resolution.id}`, {
      field: 'pendingId',
      details: { pendingId: pending.id, resolvedBy: resolution.id, resolution: resolution.kind },
    });
  }

  const debit = accounts.get(pending.debitAccountId);
  const credit = accounts.get(pending.creditAccountId);
  assert(debit !== undefined && credit !== undefined, 'a hold references accounts that exist');
  assert(
    debit.pendingDebits >= pending.amount,
    `account ${debit.id} pending debits cover hold ${pending.id}`,
  );
  assert(
    credit.pendingCredits >= pending.amount,
    `account ${credit.id} pending credits cover hold ${pending.id}`,
  );
  const post = kind === 'post_pending' ? pending.amount : 0n;
  const debitAfter = {
    ...debit,
    pendingDebits: debit.pendingDebits - pending.amount,
    postedDebits: debit.postedDebits + post,
  };
  const creditAfter = {
    ...credit,
    pendingCredits: credit.pendingCredits - pending.amount,
    postedCredits: credit.postedCredits + post,
  };
  // Posting moves a hold from pending to posted: what the debit account may spend does not change.
  assert(availableOf(debitAfter) === availableOf(debit) + pending.amount - post, 'resolution keeps the hold');
  checkLimits(debitAfter);
  checkLimits(creditAfter);
  await writeTotals(tx, debit, debitAfter);
  await writeTotals(tx, credit, creditAfter);
  return insertTransfer(tx, {
    id: input.id,
    kind,
    debit_account_id: pending.debitAccountId,
    credit_account_id: pending.creditAccountId,
    asset: pending.asset,
    amount: amountToRow(pending.amount),
    pending_id: pending.id,
    code: input.code,
    reference,
    created_at: at.toISOString(),
  });
}

interface ExpectedTransfer {
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly pendingId: string | null;
  readonly code: string;
  readonly reference: string | null;
}

const COMPARED_FIELDS = [
  'kind',
  'debitAccountId',
  'creditAccountId',
  'asset',
  'amount',
  'pendingId',
  'code',
  'reference',
] as const;

function sameOrConflict(row: LedgerTransfersTable, expected: ExpectedTransfer): Transfer {
  const existing = transferFromRow(row);
  const differs = COMPARED_FIELDS.filter((field) => existing[field] !== expected[field]);
  if (differs.length === 0) return existing;
  throw new DomainError(
    'CONFLICT',
    `transfer ${existing.id} already exists with a different ${differs.join(', ')}`,
    { field: differs[0], details: { transferId: existing.id, differs } },
  );
}

function checkLimits(account: Totals): void {
  for (const total of [
    account.postedDebits,
    account.postedCredits,
    account.pendingDebits,
    account.pendingCredits,
  ]) {
    assert(total >= 0n, 'account totals are never negative');
    if (total >= AMOUNT_LIMIT) throw invalidInput('amount', 'would take an account total past 40 digits');
  }
}

/** Writes only the totals that changed; the values were computed from the row read under the lock. */
async function writeTotals(tx: Tx, before: Account, after: Totals): Promise<void> {
  const changes: { -readonly [K in keyof LedgerTotalsRow]?: string } = {};
  if (after.postedDebits !== before.postedDebits) changes.posted_debits = amountToRow(after.postedDebits);
  if (after.postedCredits !== before.postedCredits) changes.posted_credits = amountToRow(after.postedCredits);
  if (after.pendingDebits !== before.pendingDebits) changes.pending_debits = amountToRow(after.pendingDebits);
  if (after.pendingCredits !== before.pendingCredits)
    changes.pending_credits = amountToRow(after.pendingCredits);
  assert(Object.keys(changes).length > 0, 'a transfer changes both of its accounts');
  const result = await tx
    .updateTable('ledger_accounts')
    .set(changes)
    .where('id', '=', before.id)
    .executeTakeFirst();
  assert(result.numUpdatedRows === 1n, `account ${before.id} was updated`);
}

interface LedgerTotalsRow {
  readonly posted_debits: string;
  readonly posted_credits: string;
  readonly pending_debits: string;
  readonly pending_credits: string;
}

async function insertTransfer(tx: Tx, row: LedgerTransfersTable): Promise<Transfer> {
  await tx.insertInto('ledger_transfers').values(row).execute();
  return transferFromRow(row);
}
