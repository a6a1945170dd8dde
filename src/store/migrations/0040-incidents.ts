import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Incidents (src/services/incidents/): an incident commander's record of one security event, opened by hand or
 * from an alert, and the withdrawals marked as affected by it.
 *
 * - `incidents`: open -> contained -> resolved -> closed (closed is final). `alert_id` is the alert it was opened
 *   from, if any. Severity follows the alerts' scale plus `high`.
 * - `incident_withdrawals`: one row per (incident, withdrawal), the classification an operator or a monitor
 *   finding gave it (unauthorized, suspect, legitimate). The outcome (stopped before release, lost, in doubt) is
 *   not stored: it is read from the withdrawal's state when it is asked for, so it cannot go stale. Reclassifying
 *   updates the row; every marking is also in the audit log.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull().check(sql`length(title) between 3 and 200`))
    .addColumn('severity', 'text', (c) =>
      c.notNull().check(sql`severity in ('low', 'medium', 'high', 'critical')`),
    )
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('open', 'contained', 'resolved', 'closed')`),
    )
    .addColumn('alert_id', 'text')
    .addColumn('opened_by', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('closed_by', 'text')
    .addColumn('closed_at', 'text')
    .addCheckConstraint('incidents_closed_has_who', sql`(status = 'closed') = (closed_at is not null)`)
    .execute();
  await db.schema.createIndex('incidents_by_opened').on('incidents').columns(['opened_at', 'id']).execute();

  await db.schema
    .createTable('incident_withdrawals')
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().references('withdrawals.id'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('classification', 'text', (c) =>
      c.notNull().check(sql`classification in ('unauthorized', 'suspect', 'legitimate')`),
    )
    .addColumn('marked_by', 'text', (c) => c.notNull())
    .addColumn('marked_at', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.check(sql`length(note) <= 2000`))
    .addPrimaryKeyConstraint('incident_withdrawals_pk', ['incident_id', 'withdrawal_id'])
    .execute();
  await db.schema
    .createIndex('incident_withdrawals_by_account')
    .on('incident_withdrawals')
    .columns(['incident_id', 'account_id'])
    .execute();
}
