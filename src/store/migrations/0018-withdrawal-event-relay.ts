import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The withdrawal event log doubles as the outbox of withdrawal events (the relay, src/services/withdrawals/
 * event-relay.ts): an event not yet told to integrators and customers has `relayed_at` NULL, and a partial index
 * finds those at once however long the log grows. Events already in the log when this runs are history, not news:
 * they are marked relayed so an upgrade does not replay them.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('withdrawal_events').addColumn('relayed_at', 'text').execute();
  await db.updateTable('withdrawal_events').set({ relayed_at: sql`at` }).execute();
  await db.schema
    .createIndex('withdrawal_events_unrelayed')
    .on('withdrawal_events')
    .columns(['at', 'id'])
    .where(sql.ref('relayed_at'), 'is', null)
    .execute();
}
