import { sql } from 'kysely';
import type { Database } from './database.ts';
import type {
  IncidentClassification,
  IncidentStatus,
  IncidentsTable,
  IncidentWithdrawalsTable,
} from './schema-incidents.ts';
import { lockRows, type Queryable, queryable, type Tx } from './transaction.ts';

export type IncidentRow = Readonly<IncidentsTable>;
export type IncidentWithdrawalRow = Readonly<IncidentWithdrawalsTable>;

export async function insertIncident(tx: Tx, row: IncidentsTable): Promise<void> {
  await tx.insertInto('incidents').values(row).execute();
}

export async function findIncident(on: Queryable, id: string): Promise<IncidentRow | undefined> {
  return queryable(on).selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Reads an incident to change it: on PostgreSQL the row stays locked until the transaction ends. */
export async function lockIncident(database: Database, tx: Tx, id: string): Promise<IncidentRow | undefined> {
  const query = tx.selectFrom('incidents').selectAll().where('id', '=', id);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

/** Incidents, newest first (ids are time-ordered), by status, `limit` rows after `startingAfter`. */
export async function findIncidents(
  on: Queryable,
  status: IncidentStatus | undefined,
  limit: number,
  startingAfter: string | undefined,
): Promise<IncidentRow[]> {
  let query = queryable(on).selectFrom('incidents').selectAll().orderBy('id', 'desc').limit(limit);
  if (status !== undefined) query = query.where('status', '=', status);
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
  return query.execute();
}

/** Moves an incident from `from`; false when it was not in `from` any more. */
export async function updateIncidentStatus(
  tx: Tx,
  id: string,
  from: IncidentStatus,
  changes: Pick<IncidentsTable, 'status' | 'updated_at'> &
    Partial<Pick<IncidentsTable, 'closed_at' | 'closed_by'>>,
): Promise<boolean> {
  const result = await tx
    .updateTable('incidents')
    .set(changes)
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function touchIncident(tx: Tx, id: string, at: string): Promise<void> {
  await tx.updateTable('incidents').set({ updated_at: at }).where('id', '=', id).execute();
}

/** Incidents not closed, by status and severity (the open-incidents gauge). */
export async function incidentCounts(
  on: Queryable,
): Promise<{ status: string; severity: string; count: number }[]> {
  const rows = await queryable(on)
    .selectFrom('incidents')
    .select(['status', 'severity', sql<string | number>`count(*)`.as('n')])
    .where('status', '<>', 'closed')
    .groupBy(['status', 'severity'])
    .execute();
  return rows.map((r) => ({ status: r.status, severity: r.severity, count: Number(r.n) }));
}

/**
 * Marks a withdrawal as affected by an incident, or reclassifies it: one row per (incident, withdrawal). Returns
 * the classification it had before, if any.
 */
export async function markIncidentWithdrawal(
  tx: Tx,
  row: IncidentWithdrawalsTable,
): Promise<IncidentClassification | undefined> {
  const before = await tx
    .selectFrom('incident_withdrawals')
    .select('classification')
    .where('incident_id', '=', row.incident_id)
    .where('withdrawal_id', '=', row.withdrawal_id)
    .executeTakeFirst();
  if (before === undefined) {
    await tx.insertInto('incident_withdrawals').values(row).execute();
    return undefined;
  }
  await tx
    .updateTable('incident_withdrawals')
    .set({
      classification: row.classification,
      marked_by: row.marked_by,
      marked_at: row.marked_at,
      note: row.note,
    })
    .where('incident_id', '=', row.incident_id)
    .where('withdrawal_id', '=', row.withdrawal_id)
    .execute();
  return before.classification;
}

/** An affected withdrawal with what its outcome is derived from (its state) and what it moved. */
export interface AffectedWithdrawalRow extends IncidentWithdrawalRow {
  readonly state: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly destination_address: string;
}

/** One page of an incident's affected withdrawals, by withdrawal id; `limit` + 1 are read for has_more. */
export async function incidentWithdrawalsPage(
  on: Queryable,
  incidentId: string,
  filter: { classification?: IncidentClassification | undefined; accountId?: string | undefined },
  limit: number,
  startingAfter: string | undefined,
): Promise<AffectedWithdrawalRow[]> {
  let query = queryable(on)
    .selectFrom('incident_withdrawals as i')
    .innerJoin('withdrawals as w', 'w.id', 'i.withdrawal_id')
    .select([
      'i.incident_id',
      'i.withdrawal_id',
      'i.account_id',
      'i.classification',
      'i.marked_by',
      'i.marked_at',
      'i.note',
      'w.state',
      'w.asset',
      'w.network',
      'w.amount',
      'w.fee',
      'w.destination_address',
    ])
    .where('i.incident_id', '=', incidentId)
    .orderBy('i.withdrawal_id')
    .limit(limit);
  if (filter.classification !== undefined)
    query = query.where('i.classification', '=', filter.classification);
  if (filter.accountId !== undefined) query = query.where('i.account_id', '=', filter.accountId);
  if (startingAfter !== undefined) query = query.where('i.withdrawal_id', '>', startingAfter);
  return (await query.execute()).map((row) => ({ ...row, amount: String(row.amount), fee: String(row.fee) }));
}

/**
 * One page of the accounts an incident affected (any classification but legitimate), by account id, each with
 * how many of its withdrawals were marked; `limit` + 1 are read for has_more.
 */
export async function affectedAccountsPage(
  on: Queryable,
  incidentId: string,
  limit: number,
  startingAfter: string | undefined,
): Promise<{ account_id: string; withdrawals: number }[]> {
  let query = queryable(on)
    .selectFrom('incident_withdrawals')
    .select(['account_id', sql<string | number>`count(*)`.as('n')])
    .where('incident_id', '=', incidentId)
    .where('classification', '<>', 'legitimate')
    .groupBy('account_id')
    .orderBy('account_id')
    .limit(limit);
  if (startingAfter !== undefined) query = query.where('account_id', '>', startingAfter);
  return (await query.execute()).map((r) => ({ account_id: r.account_id, withdrawals: Number(r.n) }));
}

/**
 * Withdrawals the monitor found something wrong with at or after `since`, by withdrawal id after
 * `startingAfter`, at most `limit`, with their account.
 */
export async function flaggedWithdrawalsSince(
  on: Queryable,
  since: string,
  limit: number,
  startingAfter: string | undefined,
): Promise<{ withdrawal_id: string; account_id: string; checks: string }[]> {
  let query = queryable(on)
    .selectFrom('monitor_findings as f')
    .innerJoin('withdrawals as w', 'w.id', 'f.withdrawal_id')
    .select(['f.withdrawal_id', 'w.account_id', sql<string>`min(f.check_name)`.as('checks')])
    .where('f.at', '>=', since)
    .groupBy(['f.withdrawal_id', 'w.account_id'])
    .orderBy('f.withdrawal_id')
    .limit(limit);
  if (startingAfter !== undefined) query = query.where('f.withdrawal_id', '>', startingAfter);
  return query.execute();
}

/** Which of `ids` are customer accounts, read in slices of 500. */
export async function customersAmong(on: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await queryable(on)
      .selectFrom('principals')
      .select('id')
      .where('kind', '=', 'customer')
      .where('id', 'in', ids.slice(i, i + 500) as string[])
      .execute();
    for (const row of rows) found.add(row.id);
  }
  return found;
}

/**
 * The accounts an incident affected (any classification but legitimate), at most `limit`: the caller that must
 * act on all of them reads limit + 1 and refuses past its bound rather than act on part silently.
 */
export async function affectedAccountIds(
  on: Queryable,
  incidentId: string,
  limit: number,
): Promise<string[]> {
  const rows = await queryable(on)
    .selectFrom('incident_withdrawals')
    .select('account_id')
    .distinct()
    .where('incident_id', '=', incidentId)
    .where('classification', '<>', 'legitimate')
    .orderBy('account_id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.account_id);
}

/** Marks withdrawals not yet marked for the incident; a withdrawal already marked keeps its mark. */
export async function markUnmarkedWithdrawals(
  tx: Tx,
  rows: readonly IncidentWithdrawalsTable[],
): Promise<string[]> {
  const marked: string[] = [];
  for (const row of rows) {
    const result = await tx
      .insertInto('incident_withdrawals')
      .values(row)
      .onConflict((oc) => oc.columns(['incident_id', 'withdrawal_id']).doNothing())
      .executeTakeFirst();
    if (result.numInsertedOrUpdatedRows === 1n) marked.push(row.withdrawal_id);
  }
  return marked;
}

/** The withdrawals among `ids` that exist, with their account. */
export async function withdrawalAccounts(
  on: Queryable,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await queryable(on)
      .selectFrom('withdrawals')
      .select(['id', 'account_id'])
      .where('id', 'in', ids.slice(i, i + 500) as string[])
      .execute();
    for (const row of rows) found.set(row.id, row.account_id);
  }
  return found;
}
