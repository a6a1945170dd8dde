import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Webhook endpoints (integrators' receivers, with a rotating signing secret), the log of every delivery attempt
 * the outbox dispatcher makes, and customers' choices about non-security notifications.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull().check(sql`length(url) <= 2048`))
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('secret_current', 'text', (c) => c.notNull())
    .addColumn('secret_previous', 'text')
    .addColumn('previous_valid_until', 'text')
    .addColumn('rotated_at', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'disabled')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'text')
    .addCheckConstraint(
      'webhook_previous_secret_expires',
      sql`(secret_previous is null) = (previous_valid_until is null)`,
    )
    .execute();
  await db.schema.createIndex('webhook_endpoints_status').on('webhook_endpoints').column('status').execute();

  await db.schema
    .createTable('delivery_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('outbox_id', 'text', (c) => c.notNull().references('outbox.id'))
    .addColumn('attempt', 'integer', (c) => c.notNull().check(sql`attempt >= 1`))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('delivered', 'failed')`))
    .addColumn('response_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull().check(sql`duration_ms >= 0`))
    .execute();
  await db.schema
    .createIndex('delivery_log_outbox')
    .on('delivery_log')
    .columns(['outbox_id', 'attempt'])
    .execute();

  await db.schema
    .createTable('notification_preferences')
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().check(sql`enabled in (0, 1)`))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_preferences_pk', ['account_id', 'event'])
    .execute();
}
