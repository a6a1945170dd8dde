import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Every state move writes a fresh `move_id` with its UPDATE and inserts its events with a SELECT keyed on it, in
 * the same round trip: the events exist exactly when the update matched (src/store/withdrawals.ts moveWithdrawal).
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('withdrawals').addColumn('move_id', 'text').execute();
}
