import { sql } from 'kysely';
import type { ReviewApprovalsTable } from './schema-review.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';
import type { WithdrawalRow } from './withdrawals.ts';

export type ReviewApprovalRow = Readonly<ReviewApprovalsTable>;

/** Which time the withdrawal has entered held_for_review (1 the first time; 0 if never): its current hold. */
export async function holdRound(on: Queryable, withdrawalId: string): Promise<number> {
  const row = await queryable(on)
    .selectFrom('withdrawal_events')
    .select(sql<string | number>`count(*)`.as('n'))
    .where('withdrawal_id', '=', withdrawalId)
    .where('to_state', '=', 'held_for_review')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The approvals of one hold of a withdrawal, oldest first. */
export async function approvalsOf(
  on: Queryable,
  withdrawalId: string,
  round: number,
): Promise<ReviewApprovalRow[]> {
  return queryable(on)
    .selectFrom('review_approvals')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .where('hold_round', '=', round)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

/** Records an approval; the UNIQUE (withdrawal_id, hold_round, operator_id) refuses the same operator twice. */
export async function insertApproval(tx: Tx, row: ReviewApprovalsTable): Promise<void> {
  await tx.insertInto('review_approvals').values(row).execute();
}

/** Whether `error` is the database refusing a duplicate key (PostgreSQL 23505, SQLite's UNIQUE constraint). */
export function isUniqueViolation(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The review queue: withdrawals held for review, the longest held first (by when they were held, then id), `limit`
 * rows after the withdrawal `startingAfter` (the last of the page before). Undefined when `startingAfter` names no
 * withdrawal that was ever held.
 */
export async function heldForReview(
  on: Queryable,
  limit: number,
  startingAfter: string | undefined,
): Promise<{ row: WithdrawalRow; heldSince: string }[] | undefined> {
  const db = queryable(on);
  // While a withdrawal is held nothing else writes it, so its updated_at is when it was held.
  let query = db
    .selectFrom('withdrawals')
    .selectAll()
    .where('state', '=', 'held_for_review')
    .orderBy('updated_at')
    .orderBy('id')
    .limit(limit);
  if (startingAfter !== undefined) {
    // The cursor's own hold time from its history: stable even once it has left the queue.
    const cursor = await db
      .selectFrom('withdrawal_events')
      .select(sql<string | null>`max(at)`.as('at'))
      .where('withdrawal_id', '=', startingAfter)
      .where('to_state', '=', 'held_for_review')
      .executeTakeFirst();
    const at = cursor?.at ?? null;
    if (at === null) return undefined;
    query = query.where((eb) =>
      eb.or([eb('updated_at', '>', at), eb.and([eb('updated_at', '=', at), eb('id', '>', startingAfter)])]),
    );
  }
  const rows = await query.execute();
  return rows.map((row) => ({ row, heldSince: row.updated_at }));
}

/** Every approval of a withdrawal, of every hold, oldest first (its history as operators see it). */
export async function allApprovalsOf(on: Queryable, withdrawalId: string): Promise<ReviewApprovalRow[]> {
  return queryable(on)
    .selectFrom('review_approvals')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

/**
 * For each of `ids`: its current hold (how many times it entered held_for_review), when that hold began, and the
 * approvals of that hold, oldest first. Two statements whatever the number of ids (the review queue's page).
 */
export async function holdsOf(
  on: Queryable,
  ids: readonly string[],
): Promise<Map<string, { round: number; heldSince: string | null; approvals: ReviewApprovalRow[] }>> {
  const result = new Map<
    string,
    { round: number; heldSince: string | null; approvals: ReviewApprovalRow[] }
  >();
  if (ids.length === 0) return result;
  const db = queryable(on);
  const holds = await db
    .selectFrom('withdrawal_events')
    .select([
      'withdrawal_id',
      sql<string | number>`count(*)`.as('n'),
      sql<string | null>`max(at)`.as('since'),
    ])
    .where('withdrawal_id', 'in', ids)
    .where('to_state', '=', 'held_for_review')
    .groupBy('withdrawal_id')
    .execute();
  for (const id of ids) result.set(id, { round: 0, heldSince: null, approvals: [] });
  for (const hold of holds)
    result.set(hold.withdrawal_id, { round: Number(hold.n), heldSince: hold.since, approvals: [] });
  const approvals = await db
    .selectFrom('review_approvals')
    .selectAll()
    .where('withdrawal_id', 'in', ids)
    .orderBy('at')
    .orderBy('id')
    .execute();
  for (const approval of approvals) {
    const hold = result.get(approval.withdrawal_id);
    if (hold !== undefined && Number(approval.hold_round) === hold.round) hold.approvals.push(approval);
  }
  return result;
}
