import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Withdrawal destinations. An entry is usable only once its cooling period has passed; `cooling_ms` is the
 * period in force when it was added (a later, longer period applies too: the longer of the two wins).
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('address_book_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('address_type', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('cooling_ms', 'bigint', (c) => c.notNull().check(sql`cooling_ms >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('removed_at', 'text')
    .execute();
  // One live entry per destination per account; a removed one may be added again (and cools again).
  await sql`create unique index address_book_live on address_book_entries (account_id, network, address) where removed_at is null`.execute(
    db,
  );
  await db.schema
    .createIndex('address_book_account')
    .on('address_book_entries')
    .columns(['account_id', 'created_at'])
    .execute();
}
