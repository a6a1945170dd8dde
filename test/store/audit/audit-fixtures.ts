import { sql } from 'kysely';
import type { ManualClock } from '../../../src/core/clock.ts';
import { type AuditEntry, recordAudit } from '../../../src/store/audit/index.ts';
import type { Database } from '../../../src/store/database.ts';

/** Appends `count` entries one after another, a minute apart on `clock`. */
export async function appendEntries(
  database: Database,
  clock: ManualClock,
  count: number,
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (let index = 1; index <= count; index += 1) {
    clock.advance(60_000);
    entries.push(
      await recordAudit(database, {
        at: clock.now(),
        actor: `account:a${index % 3}`,
        action: 'withdrawal.requested',
        subject: `withdrawal:w${index}`,
        data: { amount: `${index}000`, asset: 'BTC', index },
      }),
    );
  }
  return entries;
}

/**
 * What an attacker with owner rights on the database can do: drop the append-only triggers, then
 * rewrite history with raw SQL. Only the hash chain is left to notice.
 */
export async function tamperAuditLog(database: Database, statement: string): Promise<void> {
  for (const trigger of ['audit_log_no_update', 'audit_log_no_delete']) {
    if (database.engine === 'postgres') {
      await sql`drop trigger if exists ${sql.id(trigger)} on audit_log`.execute(database.db);
    } else {
      await sql`drop trigger if exists ${sql.id(trigger)}`.execute(database.db);
    }
  }
  await sql.raw(statement).execute(database.db);
}
