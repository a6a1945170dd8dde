import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Cases (src/services/cases.ts): an investigation grouping alerts and withdrawals, open -> investigating -> closed,
 * and its events, append-only: opened, alert_linked, withdrawal_linked, note, status_changed. The database refuses
 * an UPDATE or DELETE of an event (and on SQLite an INSERT OR REPLACE, which deletes without firing DELETE
 * triggers); one thing is linked to a case once (the partial unique index on its subject).
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('cases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull().check(sql`length(title) between 3 and 200`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'investigating', 'closed')`))
    .addColumn('opened_by', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('closed_by', 'text')
    .addColumn('closed_at', 'text')
    .addCheckConstraint('cases_closed_has_who', sql`(status = 'closed') = (closed_at is not null)`)
    .execute();
  await db.schema
    .createTable('case_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id'))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .check(sql`kind in ('opened', 'alert_linked', 'withdrawal_linked', 'note', 'status_changed')`),
    )
    .addColumn('subject', 'text', (c) => c.check(sql`length(subject) <= 200`))
    .addColumn('note', 'text', (c) => c.check(sql`length(note) <= 2000`))
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text')
    .addCheckConstraint(
      'case_events_link_has_subject',
      sql`(kind in ('alert_linked', 'withdrawal_linked')) = (subject is not null)`,
    )
    .execute();
  await db.schema.createIndex('case_events_by_case').on('case_events').columns(['case_id', 'id']).execute();
  await db.schema
    .createIndex('case_events_linked_once')
    .on('case_events')
    .columns(['case_id', 'subject'])
    .unique()
    .where(sql.ref('subject'), 'is not', null)
    .execute();

  if (engine === 'postgres') {
    await sql`create function case_events_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'case_events is append-only' using errcode = 'insufficient_privilege';
      end
    $$`.execute(db);
    await sql`create trigger case_events_no_update before update on case_events
      for each row execute function case_events_append_only()`.execute(db);
    await sql`create trigger case_events_no_delete before delete on case_events
      for each row execute function case_events_append_only()`.execute(db);
    await sql`create trigger case_events_no_truncate before truncate on case_events
      for each statement execute function case_events_append_only()`.execute(db);
  } else {
    await sql`create trigger case_events_no_update before update on case_events
      begin select raise(abort, 'case_events is append-only'); end`.execute(db);
    await sql`create trigger case_events_no_delete before delete on case_events
      begin select raise(abort, 'case_events is append-only'); end`.execute(db);
    await sql`create trigger case_events_no_replace before insert on case_events
      when exists (select 1 from case_events where id = new.id)
      begin select raise(abort, 'case_events is append-only'); end`.execute(db);
  }
}
