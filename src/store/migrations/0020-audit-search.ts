import type { AnyDb, MigrationEngine } from './column-types.ts';

/** The audit log searched by subject and by action (GET /v1/operator/audit), newest first, without a scan. */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.createIndex('audit_log_subject').on('audit_log').columns(['subject', 'seq']).execute();
  await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'seq']).execute();
}
