import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The audit journal: business transactions append here, with no lock and no chain, and the sealer
 * (src/store/audit/seal-audit.ts) moves entries into the hash-chained `audit_log` in batches. Rows cannot
 * be updated or replaced, and a row can be deleted only once the very same entry (id and every field) is in
 * the chain: whoever wants an entry gone before it is sealed must first put it, unchanged, where the hash
 * chain covers it. On SQLite `INSERT OR REPLACE` is refused on both tables (it deletes without firing DELETE
 * triggers).
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
        if tg_op = 'DELETE' and exists (
          select 1 from audit_log l
          where l.id = old.id and l.at = old.at and l.actor = old.actor and l.action = old.action
            and l.subject = old.subject and l.data = old.data
        ) then
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
      when not exists (
        select 1 from audit_log l
        where l.id = old.id and l.at = old.at and l.actor = old.actor and l.action = old.action
          and l.subject = old.subject and l.data = old.data
      )
      begin select raise(abort, 'audit_journal rows are only removed once sealed into audit_log'); end`.execute(
      db,
    );
    // INSERT OR REPLACE deletes the row it conflicts with without firing DELETE triggers: refuse the insert.
    await sql`create trigger audit_journal_no_replace before insert on audit_journal
      when exists (select 1 from audit_journal where id = new.id or n = new.n)
      begin select raise(abort, 'audit_journal rows are only removed once sealed into audit_log'); end`.execute(
      db,
    );
    await sql`create trigger audit_log_no_replace before insert on audit_log
      when exists (select 1 from audit_log where seq = new.seq or id = new.id)
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  }
}
