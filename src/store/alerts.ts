import { sql } from 'kysely';
import type { Database } from './database.ts';
import type { AlertSeverity, AlertState, AlertsTable } from './schema-review.ts';
import { lockRows, type Queryable, queryable, type Tx } from './transaction.ts';

export type AlertRow = Readonly<AlertsTable>;

/**
 * Raises an alert in the caller's transaction: a new row, or, while an alert of the same kind and fingerprint is not
 * resolved, that one with its occurrences bumped and last_seen_at moved. One statement (an upsert on the partial
 * unique index alerts_one_unresolved), so two raisers racing on PostgreSQL still end with one row. `created` is
 * whether this raise made the row.
 */
export async function upsertAlert(tx: Tx, row: AlertsTable): Promise<{ id: string; created: boolean }> {
  const result = await tx
    .insertInto('alerts')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['kind', 'fingerprint'])
        // Written as the index's own predicate (a literal): the database infers the partial index from it.
        .where(sql<boolean>`state <> 'resolved'`)
        .doUpdateSet((eb) => ({
          occurrences: eb('alerts.occurrences', '+', 1),
          last_seen_at: eb.ref('excluded.last_seen_at'),
        })),
    )
    .returning(['id', 'occurrences'])
    .executeTakeFirstOrThrow();
  return { id: result.id, created: result.id === row.id };
}

export async function findAlert(on: Queryable, id: string): Promise<AlertRow | undefined> {
  return queryable(on).selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Replaces an alert's details (a grouped alert's sample of subjects grows while it is unresolved). */
export async function setAlertDetails(tx: Tx, id: string, details: string): Promise<void> {
  await tx.updateTable('alerts').set({ details }).where('id', '=', id).execute();
}

/** Reads an alert to change it: on PostgreSQL the row stays locked until the transaction ends. */
export async function lockAlert(database: Database, tx: Tx, id: string): Promise<AlertRow | undefined> {
  const query = tx.selectFrom('alerts').selectAll().where('id', '=', id);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

/** Moves an alert from `from` with `changes`; false if it was not in `from` (someone else moved it). */
export async function moveAlert(
  tx: Tx,
  id: string,
  from: AlertState,
  changes: Partial<Omit<AlertsTable, 'id' | 'kind' | 'fingerprint'>>,
): Promise<boolean> {
  const result = await tx
    .updateTable('alerts')
    .set(changes)
    .where('id', '=', id)
    .where('state', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export interface AlertFilter {
  readonly state?: AlertState | undefined;
  readonly kind?: string | undefined;
  readonly severity?: AlertSeverity | undefined;
}

/** Alerts matching `filter`, newest first (ids are time-ordered): `limit` rows after `startingAfter`. */
export async function findAlerts(
  on: Queryable,
  filter: AlertFilter,
  limit: number,
  startingAfter: string | undefined,
): Promise<AlertRow[]> {
  let query = queryable(on).selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(limit);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.severity !== undefined) query = query.where('severity', '=', filter.severity);
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
  return query.execute();
}

/** Unresolved alerts by state, severity and kind, and every alert ever raised by severity and kind (for /metrics). */
export async function alertCounts(on: Queryable) {
  const db = queryable(on);
  const unresolved = await db
    .selectFrom('alerts')
    .select(['state', 'severity', 'kind', sql<string | number>`count(*)`.as('n')])
    .where('state', '<>', 'resolved')
    .groupBy(['state', 'severity', 'kind'])
    .execute();
  const raised = await db
    .selectFrom('alerts')
    .select(['severity', 'kind', sql<string | number>`count(*)`.as('n')])
    .groupBy(['severity', 'kind'])
    .execute();
  return {
    unresolved: unresolved.map((r) => ({
      state: r.state,
      severity: r.severity,
      kind: r.kind,
      count: Number(r.n),
    })),
    raised: raised.map((r) => ({ severity: r.severity, kind: r.kind, count: Number(r.n) })),
  };
}

/** The operators paged for a critical alert: incident commanders and admins whose account is not locked. */
export async function onCallOperators(on: Queryable) {
  return queryable(on)
    .selectFrom('principals')
    .select(['id', 'email', 'role'])
    .where('kind', '=', 'operator')
    .where('role', 'in', ['incident_commander', 'admin'])
    .where('locked_at', 'is', null)
    .orderBy('id')
    .execute();
}
