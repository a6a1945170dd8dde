import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Fan-in ("how many distinct accounts paid this destination lately?") is asked at every confirmation: an index over
 * the confirmed withdrawals (a proof is named) by network, destination address (stored normalised) and time, with
 * the account so the count reads the index alone. And the session and device a withdrawal was confirmed from.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createIndex('withdrawals_fan_in')
    .on('withdrawals')
    .columns(['network', 'destination_address', 'created_at', 'account_id'])
    .where(sql.ref('proof_id'), 'is not', null)
    .execute();
  for (const column of ['session_id', 'device_id']) {
    await db.schema.alterTable('withdrawals').addColumn(column, 'text').execute();
  }
}
