import { sql } from 'kysely';
import { assert, DomainError, invalidInput } from '../../core/errors.ts';
import type { LedgerTransfersTable } from '../schema.ts';
import { type Tx, together } from '../transaction.ts';
import { type LockedAccounts, lockAccountSet, lockAccounts } from './account-locks.ts';
import { AMOUNT_LIMIT, checkResolveHoldInput, checkTransferInput } from './input-rules.ts';
import { amountToRow, transferFromRow } from './rows.ts';
import {
  checkTotalsWritten,
  insertTransfer,
  insertTransferStatement,
  selectTransfer,
  type Totals,
  writeTotals,
  writeTotalsStatement,
} from './transfer-statements.ts';
import {
  availableOf,
  type ResolveHoldInput,
  type Transfer,
  type TransferInput,
  type TransferKind,
} from './types.ts';

/*
 * TigerBeetle-style transfers. Each function works inside the caller's transaction (`Tx` from
 * `inTransaction`), so a service can place a hold in the same transaction as its own writes.
 * Every refusal is decided before anything is written (the insert that spots a retry writes nothing
 * when it meets one), so a caller that catches the error may still commit its other work.
 *
 * Retries: the caller chooses the transfer id. The same id with the same fields returns the first
 * transfer, unchanged ("handle `exists` exactly as `created`"); the same id with any other field is a
 * CONFLICT naming the fields that differ.
 */

/** A single-phase transfer: both sides are posted at once. */
export function transfer(tx: Tx, input: TransferInput, at: Date): Promise<Transfer> {
  return createTransfer(tx, 'posted', input, at);
}

/**
 * Reserves `amount` on the debit account until the hold is posted or voided, with no timeout. `locked`: both
 * accounts as this transaction locked them (`accountPairReads`), so they are not read again.
 */
export function placeHold(
  tx: Tx,
  input: TransferInput,
  at: Date,
  locked?: LockedAccounts,
): Promise<Transfer> {
  return createTransfer(tx, 'pending', input, at, locked);
}

/** Turns the whole hold into a posted transfer. A hold is posted or voided at most once. */
export function postHold(tx: Tx, input: ResolveHoldInput, at: Date): Promise<Transfer> {
  return resolveHold(tx, 'post_pending', input, at);
}

/** Releases the whole hold back to the debit account's available balance. */
export function voidHold(tx: Tx, input: ResolveHoldInput, at: Date): Promise<Transfer> {
  return resolveHold(tx, 'void_pending', input, at);
}

/**
 * voidHold for many holds in one go (a containment's batch): the holds read in one statement, their accounts locked
 * in one (id order), the voids inserted in one, and each account's totals written once however many of the holds
 * touch it. When any of them is not a plain unresolved hold, or a void id is already taken, it does them one by one
 * with voidHold instead, so retries and refusals answer exactly as voidHold answers them.
 */
export async function voidHolds(tx: Tx, inputs: readonly ResolveHoldInput[], at: Date): Promise<void> {
  if (inputs.length === 0) return;
  for (const input of inputs) checkResolveHoldInput(input);
  const pendingIds = inputs.map((input) => input.pendingId);
  const voidIds = inputs.map((input) => input.id);
  const [pendingRows, taken] = await Promise.all([
    tx.selectFrom('ledger_transfers').selectAll().where('id', 'in', pendingIds).execute(),
    tx
      .selectFrom('ledger_transfers')
      .select('id')
      .where((eb) => eb.or([eb('id', 'in', voidIds), eb('pending_id', 'in', pendingIds)]))
      .limit(1)
      .execute(),
  ]);
  const pendings = new Map(pendingRows.map((row) => [row.id, transferFromRow(row)]));
  const plain =
    taken.length === 0 &&
    new Set(pendingIds).size === inputs.length &&
    pendingIds.every((id) => pendings.get(id)?.kind === 'pending');
  if (!plain) {
    for (const input of inputs) await voidHold(tx, input, at);
    return;
  }
  const accountIds = [
    ...new Set([...pendings.values()].flatMap((p) => [p.debitAccountId, p.creditAccountId])),
  ];
  const accounts = await lockAccountSet(tx, accountIds);
  assert(accounts.size === accountIds.length, 'holds reference accounts that exist');
  const after = new Map([...accounts].map(([id, account]) => [id, { ...account }]));
  const rows: LedgerTransfersTable[] = inputs.map((input) => {
    const pending = pendings.get(input.pendingId) as Transfer;
    const debit = after.get(pending.debitAccountId)!;
    const credit = after.get(pending.creditAccountId)!;
    debit.pendingDebits -= pending.amount;
    credit.pendingCredits -= pending.amount;
    return {
      id: input.id,
      kind: 'void_pending',
      debit_account_id: pending.debitAccountId,
      credit_account_id: pending.creditAccountId,
      asset: pending.asset,
      amount: amountToRow(pending.amount),
      pending_id: pending.id,
      code: input.code,
      reference: input.reference ?? null,
      created_at: at.toISOString(),
    };
  });
  const inserted = await tx.insertInto('ledger_transfers').values(rows).executeTakeFirst();
  assert(inserted.numInsertedOrUpdatedRows === BigInt(rows.length), 'every void was inserted');
  const updated = await tx
    .updateTable('ledger_accounts')
    .set(() => {
      // One CASE per total over the accounts touched; `else` keeps the column's type for PostgreSQL.
      const column = (
        name: 'pending_debits' | 'pending_credits',
        total: 'pendingDebits' | 'pendingCredits',
      ) =>
        sql<string>`case ${sql.join(
          [...after].map(([id, account]) => sql`when id = ${id} then ${amountToRow(account[total])}`),
          sql` `,
        )} else ${sql.ref(name)} end`;
      return {
        pending_debits: column('pending_debits', 'pendingDebits'),
        pending_credits: column('pending_credits', 'pendingCredits'),
      };
    })
    .where('id', 'in', accountIds)
    .executeTakeFirst();
  assert(updated.numUpdatedRows === BigInt(accountIds.length), 'every account of the voids was updated');
}

export async function getTransfer(tx: Tx, id: string): Promise<Transfer | undefined> {
  const row = await tx.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : transferFromRow(row);
}

async function createTransfer(
  tx: Tx,
  kind: 'posted' | 'pending',
  input: TransferInput,
  at: Date,
  locked?: LockedAccounts,
): Promise<Transfer> {
  checkTransferInput(input);
  // Lock first: a concurrent retry of the same id waits here, then finds the first attempt committed.
  const accounts = await lockAccounts(tx, input.debitAccountId, input.creditAccountId, locked);
  const expected = { ...input, kind, reference: input.reference ?? null, pendingId: null };
  // A refusal that depends on the ledger's state yields to a transfer already made under this id:
  // the retry of a hold that used the whole balance must return that hold, not INSUFFICIENT_FUNDS.
  const refuse = (error: DomainError) => sameOrRefuse(tx, expected, error);
  const debit = accounts.get(input.debitAccountId);
  const credit = accounts.get(input.creditAccountId);
  if (debit === undefined) {
    return refuse(invalidInput('debitAccountId', `account ${input.debitAccountId} does not exist`));
  }
  if (credit === undefined) {
    return refuse(invalidInput('creditAccountId', `account ${input.creditAccountId} does not exist`));
  }
  if (debit.asset !== credit.asset) {
    return refuse(
      invalidInput(
        'creditAccountId',
        `account holds ${credit.asset}, the debit account holds ${debit.asset}`,
      ),
    );
  }
  if (debit.asset !== input.asset) {
    return refuse(invalidInput('asset', `the accounts hold ${debit.asset}, not ${input.asset}`));
  }
  const amount = input.amount;
  if (debit.debitsMustNotExceedCredits && availableOf(debit) < amount) {
    return refuse(
      new DomainError('INSUFFICIENT_FUNDS', `account ${debit.id} cannot cover ${amount} ${debit.asset}`, {
        field: 'amount',
        details: {
          account_id: debit.id,
          asset: debit.asset,
          available: availableOf(debit).toString(),
          requested: amount.toString(),
        },
      }),
    );
  }
  const debitAfter =
    kind === 'posted'
      ? { ...debit, postedDebits: debit.postedDebits + amount }
      : { ...debit, pendingDebits: debit.pendingDebits + amount };
  const creditAfter =
    kind === 'posted'
      ? { ...credit, postedCredits: credit.postedCredits + amount }
      : { ...credit, pendingCredits: credit.pendingCredits + amount };
  const overflow = exceedsLimits(debitAfter) || exceedsLimits(creditAfter);
  if (overflow) return refuse(invalidInput('amount', 'would take an account total past 40 digits'));

  const row: LedgerTransfersTable = {
    id: input.id,
    kind,
    debit_account_id: debit.id,
    credit_account_id: credit.id,
    asset: debit.asset,
    amount: amountToRow(amount),
    pending_id: null,
    code: input.code,
    reference: expected.reference,
    created_at: at.toISOString(),
  };
  // The insert doubles as the idempotency check: it only meets a row when the id is taken. It goes out with the
  // totals in one round trip; when it met a row, the totals go back to what they were (the accounts stay locked).
  const [inserted, totals] = await together(
    tx,
    insertTransferStatement(tx, row),
    writeTotalsStatement(tx, [debit, debitAfter], [credit, creditAfter]),
  );
  checkTotalsWritten(totals, debit, credit);
  if (inserted.numAffectedRows !== 1n) {
    await writeTotals(tx, [debit, debit], [credit, credit]);
    return sameOrRefuse(tx, expected, new Error(`transfer ${input.id} vanished after a conflict`));
  }
  return transferFromRow(row);
}

async function resolveHold(
  tx: Tx,
  kind: 'post_pending' | 'void_pending',
  input: ResolveHoldInput,
  at: Date,
): Promise<Transfer> {
  checkResolveHoldInput(input);
  const [pendingRow] = (await selectTransfer(tx, input.pendingId)).rows;
  const reference = input.reference ?? null;
  if (pendingRow === undefined || pendingRow.kind !== 'pending') {
    const reason = pendingRow === undefined ? 'does not exist' : 'is not a hold';
    const unrelated = { id: input.id, kind, pendingId: input.pendingId, code: input.code, reference };
    return sameOrRefuse(tx, unrelated, invalidInput('pendingId', `transfer ${input.pendingId} ${reason}`));
  }
  const pending = transferFromRow(pendingRow);
  const expected = { ...pending, kind, pendingId: pending.id, code: input.code, reference };
  const accounts = await lockAccounts(tx, pending.debitAccountId, pending.creditAccountId);
  const debit = accounts.get(pending.debitAccountId);
  const credit = accounts.get(pending.creditAccountId);
  assert(debit !== undefined && credit !== undefined, 'a hold references accounts that exist');
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
  const row: LedgerTransfersTable = {
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
  };
  // UNIQUE(pending_id) makes the insert the arbiter: it meets a row when the id is taken or when
  // the hold was already posted or voided, and then changes nothing.
  if (!(await insertTransfer(tx, row))) {
    const related = await tx
      .selectFrom('ledger_transfers')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', input.id), eb('pending_id', '=', pending.id)]))
      .execute();
    assert(related.length <= 2, 'one transfer per id and at most one resolution per hold');
    const existing = related.find((r) => r.id === input.id);
    if (existing !== undefined) return sameOrConflict(existing, expected);
    const resolution = related.find((r) => r.pending_id === pending.id);
    assert(resolution !== undefined, `the insert of ${input.id} met a row that is not there`);
    const how = resolution.kind === 'post_pending' ? 'posted' : 'voided';
    throw new DomainError('ALREADY_RESOLVED', `hold ${pending.id} was already ${how} by ${resolution.id}`, {
      field: 'pendingId',
      details: { pendingId: pending.id, resolvedBy: resolution.id, resolution: resolution.kind },
    });
  }
  // Only now is the hold known to be unresolved, so its amount must still sit in pending.
  assert(debitAfter.pendingDebits >= 0n, `account ${debit.id} pending debits cover hold ${pending.id}`);
  assert(creditAfter.pendingCredits >= 0n, `account ${credit.id} pending credits cover hold ${pending.id}`);
  // Posting moves a hold from pending to posted: what the debit account may spend does not change.
  assert(availableOf(debitAfter) === availableOf(debit) + pending.amount - post, 'resolution keeps the hold');
  assert(!exceedsLimits(debitAfter) && !exceedsLimits(creditAfter), 'a resolution stays within the hold');
  await writeTotals(tx, [debit, debitAfter], [credit, creditAfter]);
  return transferFromRow(row);
}

interface ExpectedTransfer {
  readonly kind: TransferKind;
  readonly debitAccountId?: string;
  readonly creditAccountId?: string;
  readonly asset?: string;
  readonly amount?: bigint;
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

/** Compares the fields the caller gave; a resolution of a missing hold gives no accounts or amount. */
function sameOrConflict(row: LedgerTransfersTable, expected: ExpectedTransfer): Transfer {
  const existing = transferFromRow(row);
  const differs = COMPARED_FIELDS.filter((field) => field in expected && existing[field] !== expected[field]);
  if (differs.length === 0) return existing;
  throw new DomainError(
    'CONFLICT',
    `transfer ${existing.id} already exists with a different ${differs.join(', ')}`,
    { field: differs[0], details: { transferId: existing.id, differs } },
  );
}

async function sameOrRefuse(
  tx: Tx,
  expected: ExpectedTransfer & { id: string },
  refusal: Error,
): Promise<Transfer> {
  const row = await tx
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('id', '=', expected.id)
    .executeTakeFirst();
  if (row === undefined) throw refusal;
  return sameOrConflict(row, expected);
}

function exceedsLimits(account: Totals): boolean {
  const totals = [account.postedDebits, account.postedCredits, account.pendingDebits, account.pendingCredits];
  assert(
    totals.every((total) => total >= 0n),
    'account totals are never negative',
  );
  return totals.some((total) => total >= AMOUNT_LIMIT);
}
