import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * When a withdrawal was released (signed for custody). The release rules total what an account had released in the
 * last 24 h by this time, not by request time: a withdrawal carried through a time lock counts the day it leaves.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('withdrawals').addColumn('released_at', 'text').execute();
  await db.schema
    .createIndex('withdrawals_released_by_account')
    .on('withdrawals')
    .columns(['account_id', 'released_at'])
    .execute();
}
