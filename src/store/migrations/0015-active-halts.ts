import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * "Is this withdrawal halted?" is one indexed lookup over the active halts, however many there are: an incident
 * may freeze thousands of accounts, and a global halt set after them must still be found (it once was not, past
 * the 1,000th halt). One partial index per way a halt can cover a withdrawal: by scope and asset, by account.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createIndex('halts_active_by_scope')
    .on('halts')
    .columns(['scope', 'asset', 'network'])
    .where(sql.ref('lifted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('halts_active_by_account')
    .on('halts')
    .columns(['account_id'])
    .where(sql.ref('lifted_at'), 'is', null)
    .execute();
}
