import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Alerts raised by the monitor and other detectors (src/services/alerts.ts): open -> acknowledged -> resolved. While
 * an alert is not resolved, raising the same (kind, fingerprint) again only bumps its occurrences and last_seen_at:
 * the partial unique index makes a second unresolved row with that key impossible on both engines, and is the
 * conflict target of the upsert that raises.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`length(kind) between 1 and 64`))
    .addColumn('severity', 'text', (c) => c.notNull().check(sql`severity in ('info', 'warning', 'critical')`))
    .addColumn('fingerprint', 'text', (c) => c.notNull().check(sql`length(fingerprint) between 1 and 200`))
    .addColumn('title', 'text', (c) => c.notNull().check(sql`length(title) between 1 and 200`))
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.check(sql`length(subject) <= 200`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('open', 'acknowledged', 'resolved')`))
    .addColumn('resolution_kind', 'text', (c) =>
      c.check(sql`resolution_kind in ('true_positive', 'false_positive', 'duplicate', 'benign')`),
    )
    .addColumn('resolution_note', 'text', (c) => c.check(sql`length(resolution_note) <= 2000`))
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('occurrences', 'integer', (c) => c.notNull().check(sql`occurrences >= 1`))
    .addColumn('acknowledged_by', 'text')
    .addColumn('acknowledged_at', 'text')
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', 'text')
    .addCheckConstraint(
      'alerts_resolution_when_resolved',
      sql`(state = 'resolved') = (resolution_kind is not null and resolved_at is not null and resolved_by is not null)`,
    )
    .addCheckConstraint(
      'alerts_acknowledged_has_who',
      sql`(acknowledged_at is null) = (acknowledged_by is null)`,
    )
    .execute();
  await db.schema
    .createIndex('alerts_one_unresolved')
    .on('alerts')
    .columns(['kind', 'fingerprint'])
    .unique()
    .where(sql.ref('state'), '<>', 'resolved')
    .execute();
  await db.schema.createIndex('alerts_by_state').on('alerts').columns(['state', 'id']).execute();
}
