import type { QueryResult } from 'kysely';
import { assert } from '../../core/errors.ts';
import { compiledOnce } from '../compiled-query.ts';
import type { LedgerTransfersTable } from '../schema.ts';
import type { Tx } from '../transaction.ts';
import { amountToRow } from './rows.ts';
import type { Account, TransferKind } from './types.ts';

/*
 * The statements every transfer runs, compiled once per engine (see compiled-query.ts). The
 * benchmark's floor (bench/ledger-floor.ts) sends these same statements straight to the driver.
 */

export type Totals = Pick<Account, 'postedDebits' | 'postedCredits' | 'pendingDebits' | 'pendingCredits'>;

export const selectTransfer = compiledOnce(1, (tx: Tx, _engine, id: string) =>
  tx.selectFrom('ledger_transfers').selectAll().where('id', '=', id),
);

// One shape for every kind of transfer: all four totals of both accounts are written, changed or
// not, so the statement is compiled once. `else` keeps the column's type for PostgreSQL.
const updateTotals = compiledOnce(
  10,
  (tx: Tx, _engine, debitId: string, creditId: string, ...values: string[]) =>
    tx
      .updateTable('ledger_accounts')
      .set((eb) => {
        const column = (name: TotalColumn, debitValue: string, creditValue: string) =>
          eb
            .case()
            .when('id', '=', debitId)
            .then(debitValue)
            .when('id', '=', creditId)
            .then(creditValue)
            .else(eb.ref(name))
            .end();
        return {
          posted_debits: column('posted_debits', values[0]!, values[1]!),
          posted_credits: column('posted_credits', values[2]!, values[3]!),
          pending_debits: column('pending_debits', values[4]!, values[5]!),
          pending_credits: column('pending_credits', values[6]!, values[7]!),
        };
      })
      .where('id', 'in', [debitId, creditId]),
);
type TotalColumn = 'posted_debits' | 'posted_credits' | 'pending_debits' | 'pending_credits';
/** In the order `updateTotals` takes them, debit account's value first. */
const TOTALS = ['postedDebits', 'postedCredits', 'pendingDebits', 'pendingCredits'] as const;

/** Writes both accounts' totals, computed in bigint from the rows read under the lock, in one statement. */
export async function writeTotals(
  tx: Tx,
  debit: readonly [Account, Totals],
  credit: readonly [Account, Totals],
): Promise<void> {
  const result = await tx.executeQuery(writeTotalsStatement(tx, debit, credit).compile());
  checkTotalsWritten(result, debit[0], credit[0]);
}

/** writeTotals' statement, for a caller that batches it; check its result with checkTotalsWritten. */
export function writeTotalsStatement(
  tx: Tx,
  [debit, debitAfter]: readonly [Account, Totals],
  [credit, creditAfter]: readonly [Account, Totals],
) {
  return updateTotals.statement(
    tx,
    debit.id,
    credit.id,
    ...TOTALS.flatMap((total) => [amountToRow(debitAfter[total]), amountToRow(creditAfter[total])]),
  );
}

export function checkTotalsWritten(result: QueryResult<unknown>, debit: Account, credit: Account): void {
  assert(result.numAffectedRows === 2n, `accounts ${debit.id} and ${credit.id} were both updated`);
}

const insertTransferRow = compiledOnce(
  10,
  (
    tx: Tx,
    _engine,
    id: string,
    kind: string,
    debitId: string,
    creditId: string,
    asset: string,
    amount: string,
    pendingId: string | null,
    code: string,
    reference: string | null,
    createdAt: string,
  ) =>
    tx
      .insertInto('ledger_transfers')
      .values({
        id,
        kind: kind as TransferKind,
        debit_account_id: debitId,
        credit_account_id: creditId,
        asset,
        amount,
        pending_id: pendingId,
        code,
        reference,
        created_at: createdAt,
      })
      .onConflict((conflict) => conflict.doNothing()),
);

/** Inserts unless the id (or, for a resolution, the hold) is taken; says whether it inserted. */
export async function insertTransfer(tx: Tx, row: LedgerTransfersTable): Promise<boolean> {
  return (await tx.executeQuery(insertTransferStatement(tx, row).compile())).numAffectedRows === 1n;
}

/** insertTransfer's statement, for a caller that batches it: it inserted if it affected one row. */
export function insertTransferStatement(tx: Tx, row: LedgerTransfersTable) {
  return insertTransferRow.statement(
    tx,
    row.id,
    row.kind,
    row.debit_account_id,
    row.credit_account_id,
    row.asset,
    row.amount,
    row.pending_id,
    row.code,
    row.reference,
    row.created_at,
  );
}
