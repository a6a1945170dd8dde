import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Every message to a customer or an integrator is written here in the same transaction as the event that
 * caused it; a dispatcher delivers it later (at least once). The embedded dev mailbox reads this table.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('email', 'webhook')`))
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('security', 'integer', (c) => c.notNull().check(sql`security in (0, 1)`))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body_text', 'text', (c) => c.notNull())
    .addColumn('body_html', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'delivered', 'failed', 'held')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('outbox_recipient').on('outbox').columns(['recipient', 'created_at']).execute();
}
