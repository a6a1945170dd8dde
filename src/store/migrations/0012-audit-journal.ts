import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The audit journal: business transactions append here, with no lock and no chain, and the sealer
 * (src/store/audit/seal-audit.ts) moves entries into the hash-chained `audit_log` in batches. Rows cannot
 * be updated, and a row can be deleted only once its entry is in the chain: whoever wants an entry gone
 * before it is sealed must first seal it, which puts it where the hash chain covers it.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const serial = engine === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
  await sql`create table audit_journal (
    n ${serial},
    id text not null unique,
    at text not null,
    actor text not null,
    action text not null,
    subject text not null,
    data text not null
  )`.execute(db);

  if (engine === 'postgres') {
    await sql`create function audit_journal_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and exists (select 1 from audit_log where audit_log.id = old.id) then
          return old;
        end if;
        raise exception 'audit_journal rows are only removed once sealed into audit_log'
          using errcode = 'insufficient_privilege';
      end
    $$`.execute(db);
    await sql`create trigger audit_journal_no_update before update on audit_journal
      for each row execute function audit_journal_guard()`.execute(db);
    await sql`create trigger audit_journal_sealed_delete before delete on audit_journal
      for each row execute function audit_journal_guard()`.execute(db);
    await sql`create trigger audit_journal_no_truncate before truncate on audit_journal
      for each statement execute function audit_log_append_only()`.execute(db);
  } else {
    await sql`create trigger audit_journal_no_update before update on audit_journal
      begin select raise(abort, 'audit_journal rows are only removed once sealed into audit_log'); end`.execute(
      db,
    );
    await sql`create trigger audit_journal_sealed_delete before delete on audit_journal
      when not exists (select 1 from audit_log where audit_log.id = old.id)
      begin select raise(abort, 'audit_journal rows are only removed once sealed into audit_log'); end`.execute(
      db,
    );
  }
}
