import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The audit journal (entries not yet sealed into audit_log) by subject, as audit_log already is (0020). The monitor
 * reads every withdrawing account's enrolment entries from both on each check (src/store/monitor.ts
 * selectEnrolments); without this the journal was scanned whole on every check, which cost more the further sealing
 * fell behind: 187 us of a 661 us check on SQLite in bench/risk.ts.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.createIndex('audit_journal_subject').on('audit_journal').column('subject').execute();
}
