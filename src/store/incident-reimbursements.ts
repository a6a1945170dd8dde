import type {
  IncidentReimbursementItemsTable,
  IncidentReimbursementsTable,
} from './schema-reimbursements.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';

export type ReimbursementRow = Readonly<IncidentReimbursementsTable>;
export type ReimbursementItemRow = Readonly<IncidentReimbursementItemsTable>;

/** A request and the withdrawals it pays back, in one go. */
export async function insertReimbursement(
  tx: Tx,
  row: IncidentReimbursementsTable,
  items: readonly IncidentReimbursementItemsTable[],
): Promise<void> {
  await tx.insertInto('incident_reimbursements').values(row).execute();
  // Bounded by the caller (MAX_REQUEST_ITEMS); chunks keep each statement under both engines' parameter limits.
  for (let i = 0; i < items.length; i += 500) {
    await tx
      .insertInto('incident_reimbursement_items')
      .values(items.slice(i, i + 500))
      .execute();
  }
}

export async function findReimbursement(on: Queryable, id: string): Promise<ReimbursementRow | undefined> {
  return queryable(on)
    .selectFrom('incident_reimbursements')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The request, locked for this transaction on PostgreSQL (SQLite's single writer already serialises). */
export async function lockReimbursement(
  tx: Tx,
  id: string,
  rowLocks: boolean,
): Promise<ReimbursementRow | undefined> {
  const query = tx.selectFrom('incident_reimbursements').selectAll().where('id', '=', id);
  return (rowLocks ? query.forUpdate() : query).executeTakeFirst();
}

export async function reimbursementsOf(on: Queryable, incidentId: string, limit: number) {
  return queryable(on)
    .selectFrom('incident_reimbursements')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('requested_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Approves a request still requested; false when it was not (approved meanwhile). The CHECK refuses the requester. */
export async function approveReimbursementRow(
  tx: Tx,
  id: string,
  approvedBy: string,
  at: string,
  itemsDigest: string,
): Promise<boolean> {
  const result = await tx
    .updateTable('incident_reimbursements')
    .set({ status: 'approved', approved_by: approvedBy, approved_at: at, items_digest: itemsDigest })
    .where('id', '=', id)
    .where('status', '=', 'requested')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Which of `withdrawalIds` already have an item (in any incident's request). */
export async function itemsForWithdrawals(on: Queryable, withdrawalIds: readonly string[]) {
  const found: ReimbursementItemRow[] = [];
  for (let i = 0; i < withdrawalIds.length; i += 500) {
    const chunk = withdrawalIds.slice(i, i + 500);
    found.push(
      ...(await queryable(on)
        .selectFrom('incident_reimbursement_items')
        .selectAll()
        .where('withdrawal_id', 'in', chunk)
        .execute()),
    );
  }
  return found;
}

/** Every item of a request, paid or not, in withdrawal order (bounded by the request's own bound). */
export async function itemsOf(on: Queryable, reimbursementId: string) {
  return queryable(on)
    .selectFrom('incident_reimbursement_items')
    .selectAll()
    .where('reimbursement_id', '=', reimbursementId)
    .orderBy('withdrawal_id')
    .execute();
}

/**
 * The next `limit` unpaid items of a request, locked on PostgreSQL: a second executor running at the same time waits,
 * then finds them paid (the `paid_at is null` condition is checked again on the locked row) and skips them.
 */
export async function nextUnpaidItems(tx: Tx, reimbursementId: string, limit: number, rowLocks: boolean) {
  const query = tx
    .selectFrom('incident_reimbursement_items')
    .selectAll()
    .where('reimbursement_id', '=', reimbursementId)
    .where('paid_at', 'is', null)
    .orderBy('withdrawal_id')
    .limit(limit);
  return (rowLocks ? query.forUpdate() : query).execute();
}

export async function markItemPaid(
  tx: Tx,
  withdrawalId: string,
  transferId: string,
  at: string,
): Promise<boolean> {
  const result = await tx
    .updateTable('incident_reimbursement_items')
    .set({ transfer_id: transferId, paid_at: at })
    .where('withdrawal_id', '=', withdrawalId)
    .where('paid_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface ReimbursedTotalsRow {
  readonly asset: string;
  readonly requested_count: number;
  readonly requested_units: bigint;
  readonly paid_count: number;
  readonly paid_units: bigint;
  /** The same paid transfers as the ledger holds them: what was really booked. */
  readonly ledger_units: bigint;
}

/**
 * Per asset: what the incident's requests ask for, what they paid, and what the ledger booked for those payments
 * (the amounts of the transfers the items name, coded 'reimbursement' for this incident), for reconciliation.
 * Sums in SQL over the indexed items of one incident; amounts are summed as bigint here, never as floats.
 */
export async function reimbursedTotals(on: Queryable, incidentId: string): Promise<ReimbursedTotalsRow[]> {
  const db = queryable(on);
  const items = await db
    .selectFrom('incident_reimbursement_items as i')
    .leftJoin('ledger_transfers as t', (join) =>
      join
        .onRef('t.id', '=', 'i.transfer_id')
        .on('t.code', '=', 'reimbursement')
        .on('t.reference', '=', `incident:${incidentId}`),
    )
    .select(['i.asset', 'i.units', 'i.paid_at', 't.amount as ledger_amount', 't.asset as ledger_asset'])
    .where('i.incident_id', '=', incidentId)
    .execute();
  const totals = new Map<string, { rc: number; ru: bigint; pc: number; pu: bigint; lu: bigint }>();
  for (const item of items) {
    const t = totals.get(item.asset) ?? { rc: 0, ru: 0n, pc: 0, pu: 0n, lu: 0n };
    t.rc += 1;
    t.ru += BigInt(String(item.units));
    if (item.paid_at !== null) {
      t.pc += 1;
      t.pu += BigInt(String(item.units));
    }
    if (item.ledger_amount !== null && item.ledger_asset === item.asset)
      t.lu += BigInt(String(item.ledger_amount));
    totals.set(item.asset, t);
  }
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([asset, t]) => ({
      asset,
      requested_count: t.rc,
      requested_units: t.ru,
      paid_count: t.pc,
      paid_units: t.pu,
      ledger_units: t.lu,
    }));
}

/** The withdrawals of an incident already paid back (what the report counts as reimbursed). */
export async function paidReimbursementWithdrawals(on: Queryable, incidentId: string): Promise<string[]> {
  const rows = await queryable(on)
    .selectFrom('incident_reimbursement_items')
    .select('withdrawal_id')
    .where('incident_id', '=', incidentId)
    .where('paid_at', 'is not', null)
    .execute();
  return rows.map((r) => r.withdrawal_id);
}
