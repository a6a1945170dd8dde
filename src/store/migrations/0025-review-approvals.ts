import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Approvals of a withdrawal held for review (the two-analyst rule, src/services/withdrawals/review-queue.ts). One
 * row per operator who approved, per hold: `hold_round` is which time the withdrawal entered held_for_review (1 the
 * first time; the releaser may hold a queued withdrawal again, and that new hold needs its own approvals). The
 * UNIQUE key makes "the same operator twice on one hold" impossible in the database, whatever the service does.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('review_approvals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().references('withdrawals.id'))
    .addColumn('hold_round', 'integer', (c) => c.notNull().check(sql`hold_round >= 1`))
    .addColumn('operator_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`length(reason) between 3 and 500`))
    .addColumn('at', 'text', (c) => c.notNull())
    .addUniqueConstraint('review_approvals_one_per_operator', ['withdrawal_id', 'hold_round', 'operator_id'])
    .execute();
}
