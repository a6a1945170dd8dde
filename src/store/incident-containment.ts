import { sql } from 'kysely';
import { CANCELLABLE } from '../core/withdrawals/states.ts';
import type { Database } from './database.ts';
import type { IncidentContainmentsTable } from './schema-incidents.ts';
import { lockRows, type Queryable, queryable, type Tx } from './transaction.ts';
import type { WithdrawalRow } from './withdrawals.ts';

export type ContainmentRow = Readonly<IncidentContainmentsTable>;

const CANCELLABLE_STATES = [...CANCELLABLE];

export async function insertContainment(
  tx: Tx,
  row: IncidentContainmentsTable,
  accountIds: readonly string[],
): Promise<void> {
  await tx.insertInto('incident_containments').values(row).execute();
  for (let i = 0; i < accountIds.length; i += 500) {
    await tx
      .insertInto('incident_containment_accounts')
      .values(accountIds.slice(i, i + 500).map((account_id) => ({ containment_id: row.id, account_id })))
      .execute();
  }
}

export async function findContainment(on: Queryable, id: string): Promise<ContainmentRow | undefined> {
  return queryable(on)
    .selectFrom('incident_containments')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Takes the job to run a batch: on PostgreSQL a second runner waits, then sees the cursor the first left. */
export async function lockContainment(
  database: Database,
  tx: Tx,
  id: string,
): Promise<ContainmentRow | undefined> {
  const query = tx.selectFrom('incident_containments').selectAll().where('id', '=', id);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

/** The incident's running containment, if any (one at a time per incident). */
export async function runningContainment(
  on: Queryable,
  incidentId: string,
): Promise<ContainmentRow | undefined> {
  return queryable(on)
    .selectFrom('incident_containments')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('status', '=', 'running')
    .executeTakeFirst();
}

/** An incident's containments, newest first, at most `limit`. */
export async function incidentContainments(
  on: Queryable,
  incidentId: string,
  limit: number,
): Promise<ContainmentRow[]> {
  return queryable(on)
    .selectFrom('incident_containments')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
}

/**
 * The next ids the job cancels: withdrawals still before release, in its scope, after its cursor, in id order,
 * at most `limit`. A withdrawal made after the job started has a later id (ids are time-ordered), so the job
 * still meets it unless it has already finished.
 */
export async function nextContainmentBatch(tx: Tx, job: ContainmentRow, limit: number): Promise<string[]> {
  let query = tx
    .selectFrom('withdrawals')
    .select('id')
    .where('state', 'in', CANCELLABLE_STATES)
    .orderBy('id')
    .limit(limit);
  if (job.cursor !== null) query = query.where('id', '>', job.cursor);
  if (job.scope === 'asset' && job.asset !== null) query = query.where('asset', '=', job.asset);
  if (job.scope === 'accounts')
    query = query.where('account_id', 'in', (eb) =>
      eb
        .selectFrom('incident_containment_accounts')
        .select('account_id')
        .where('containment_id', '=', job.id),
    );
  return (await query.execute()).map((r) => r.id);
}

/**
 * Of `ids` (a batch from nextContainmentBatch), the withdrawals still before release, read in one statement and on
 * PostgreSQL locked (in id order) until the batch commits: what a concurrent release or cancel took first is not
 * among them.
 */
export async function lockCancellable(
  database: Database,
  tx: Tx,
  ids: readonly string[],
): Promise<WithdrawalRow[]> {
  if (ids.length === 0) return [];
  const query = tx
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', 'in', [...ids])
    .where('state', 'in', CANCELLABLE_STATES)
    .orderBy('id');
  return (lockRows(database) ? query.forUpdate() : query).execute();
}

/** Moves the job's cursor past a committed batch (same transaction as the batch), or marks it done. */
export async function advanceContainment(
  tx: Tx,
  id: string,
  changes: { cursor: string | null; cancelled: number; done: boolean; at: string },
): Promise<void> {
  await tx
    .updateTable('incident_containments')
    .set({
      cursor: changes.cursor,
      cancelled: sql`cancelled + ${changes.cancelled}`,
      batches: sql`batches + 1`,
      updated_at: changes.at,
      ...(changes.done ? { status: 'done' as const, finished_at: changes.at } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Running containments and what they have cancelled so far (the containment gauges). */
export async function containmentProgress(on: Queryable): Promise<{ running: number; cancelled: number }> {
  const row = await queryable(on)
    .selectFrom('incident_containments')
    .select([
      sql<string | number>`count(*)`.as('n'),
      sql<string | number | null>`sum(cancelled)`.as('cancelled'),
    ])
    .where('status', '=', 'running')
    .executeTakeFirstOrThrow();
  return { running: Number(row.n), cancelled: Number(row.cancelled ?? 0) };
}
