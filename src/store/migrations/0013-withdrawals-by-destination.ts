import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * "Has this destination been paid before?" is asked at every confirmation (a first use gets the longer cancel
 * window). Without this index it scanned every withdrawal in the asked states, a cost that grew with the queue.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createIndex('withdrawals_destination')
    .on('withdrawals')
    .columns(['destination_id', 'state'])
    .execute();
}
