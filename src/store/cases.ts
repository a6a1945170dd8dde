import type { Database } from './database.ts';
import type { CaseEventsTable, CaseStatus, CasesTable } from './schema-review.ts';
import { lockRows, type Queryable, queryable, type Tx } from './transaction.ts';

export type CaseRow = Readonly<CasesTable>;
export type CaseEventRow = Readonly<CaseEventsTable>;

export async function insertCase(tx: Tx, row: CasesTable): Promise<void> {
  await tx.insertInto('cases').values(row).execute();
}

/**
 * Appends an event to a case. Events are append-only: this module has no update or delete of them, and the
 * database's triggers refuse both (migration 0042).
 */
export async function appendCaseEvent(tx: Tx, row: CaseEventsTable): Promise<void> {
  await tx.insertInto('case_events').values(row).execute();
}

export async function findCase(on: Queryable, id: string): Promise<CaseRow | undefined> {
  return queryable(on).selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Reads a case to change it: on PostgreSQL the row stays locked until the transaction ends. */
export async function lockCase(database: Database, tx: Tx, id: string): Promise<CaseRow | undefined> {
  const query = tx.selectFrom('cases').selectAll().where('id', '=', id);
  return (lockRows(database) ? query.forUpdate() : query).executeTakeFirst();
}

/** A case's status and when it changed (the case row; its history is in case_events). */
export async function updateCaseStatus(
  tx: Tx,
  id: string,
  from: CaseStatus,
  changes: Pick<CasesTable, 'status' | 'updated_at'> & Partial<Pick<CasesTable, 'closed_at' | 'closed_by'>>,
): Promise<boolean> {
  const result = await tx
    .updateTable('cases')
    .set(changes)
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function touchCase(tx: Tx, id: string, at: string): Promise<void> {
  await tx.updateTable('cases').set({ updated_at: at }).where('id', '=', id).execute();
}

/** A case's events in order, at most `limit`. */
export async function caseEvents(on: Queryable, caseId: string, limit: number): Promise<CaseEventRow[]> {
  return queryable(on)
    .selectFrom('case_events')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Whether `subject` ("alert:<id>", "withdrawal:<id>") is already linked to the case. */
export async function isLinked(on: Queryable, caseId: string, subject: string): Promise<boolean> {
  const row = await queryable(on)
    .selectFrom('case_events')
    .select('id')
    .where('case_id', '=', caseId)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return row !== undefined;
}

/** Cases, newest first, by status, `limit` rows after `startingAfter`. */
export async function findCases(
  on: Queryable,
  status: CaseStatus | undefined,
  limit: number,
  startingAfter: string | undefined,
): Promise<CaseRow[]> {
  let query = queryable(on).selectFrom('cases').selectAll().orderBy('id', 'desc').limit(limit);
  if (status !== undefined) query = query.where('status', '=', status);
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
  return query.execute();
}
