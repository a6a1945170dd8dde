import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The incident playbook (src/services/incidents/): halts carrying their incident, the two-person resume, and the
 * containment jobs that cancel what is in flight.
 *
 * - `halts.incident_id`: the incident a halt (or an account freeze) was placed for; null for a halt by hand.
 * - `incident_resume_requests` + `incident_resume_halts`: one operator asks for a set of halts to be lifted.
 * - `incident_resume_approvals`: one row per request (its primary key: a request is approved once), by an
 *   operator other than the one who asked (CHECK), and the trigger refuses a row whose `requested_by` is not the
 *   request's own, so a forged row cannot claim someone else asked.
 * - A trigger on `halts` refuses to lift, without an approval that names the halt, a halt the monitor placed
 *   (`system:*`) or one an incident placed. The one exception is an incident's account halt (a freeze) whose
 *   account has nothing waiting to be released: one operator unfreezes that (services/incidents/freeze.ts).
 * - `incident_containments` (+ `incident_containment_accounts`): a job that cancels every withdrawal not yet
 *   released in a scope, in batches; `cursor` is the last withdrawal id passed, so a crashed job goes on from there.
 * - An index on the audit log's `incident_id` (partial: only entries that carry one), for the timeline.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('halts').addColumn('incident_id', 'text').execute();
  await db.schema
    .createIndex('halts_by_incident')
    .on('halts')
    .columns(['incident_id', 'created_at'])
    .where(sql.ref('incident_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('incident_resume_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`length(reason) between 3 and 500`))
    .execute();
  await db.schema
    .createIndex('incident_resume_requests_by_incident')
    .on('incident_resume_requests')
    .columns(['incident_id', 'requested_at'])
    .execute();
  await db.schema
    .createTable('incident_resume_halts')
    .addColumn('request_id', 'text', (c) => c.notNull().references('incident_resume_requests.id'))
    .addColumn('halt_id', 'text', (c) => c.notNull().references('halts.id'))
    .addPrimaryKeyConstraint('incident_resume_halts_pk', ['request_id', 'halt_id'])
    .execute();
  await db.schema
    .createIndex('incident_resume_halts_by_halt')
    .on('incident_resume_halts')
    .columns(['halt_id'])
    .execute();
  await db.schema
    .createTable('incident_resume_approvals')
    .addColumn('request_id', 'text', (c) => c.primaryKey().references('incident_resume_requests.id'))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text', (c) => c.notNull())
    .addColumn('approved_at', 'text', (c) => c.notNull())
    .addCheckConstraint('incident_resume_four_eyes', sql`approved_by <> requested_by`)
    .execute();

  await db.schema
    .createTable('incident_containments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('all', 'asset', 'accounts')`))
    .addColumn('asset', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'done')`))
    .addColumn('cursor', 'text')
    .addColumn('cancelled', 'integer', (c) => c.notNull().check(sql`cancelled >= 0`))
    .addColumn('batches', 'integer', (c) => c.notNull().check(sql`batches >= 0`))
    .addColumn('started_by', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addCheckConstraint('incident_containments_asset', sql`(scope = 'asset') = (asset is not null)`)
    .addCheckConstraint('incident_containments_done', sql`(status = 'done') = (finished_at is not null)`)
    .execute();
  await db.schema
    .createIndex('incident_containments_by_incident')
    .on('incident_containments')
    .columns(['incident_id', 'started_at'])
    .execute();
  await db.schema
    .createTable('incident_containment_accounts')
    .addColumn('containment_id', 'text', (c) => c.notNull().references('incident_containments.id'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_containment_accounts_pk', ['containment_id', 'account_id'])
    .execute();
  // The containment's scan: not-yet-released withdrawals by state, in id order from the cursor.
  await db.schema.createIndex('withdrawals_state_id').on('withdrawals').columns(['state', 'id']).execute();

  if (engine === 'postgres') {
    await sql`create index audit_log_by_incident on audit_log ((data::jsonb ->> 'incident_id'), seq)
      where (data::jsonb ->> 'incident_id') is not null`.execute(db);
    await sql`create function incident_resume_approval_guard() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from incident_resume_requests r
                       where r.id = new.request_id and r.requested_by = new.requested_by) then
          raise exception 'a resume approval must name the request''s own requester'
            using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger incident_resume_approval_requester before insert or update on incident_resume_approvals
      for each row execute function incident_resume_approval_guard()`.execute(db);
    await sql`create function halts_two_person_lift() returns trigger language plpgsql as $$
      begin
        if old.lifted_at is null and new.lifted_at is not null
          and (old.created_by like 'system:%' or (old.incident_id is not null and (old.scope <> 'account'
            or exists (select 1 from withdrawals w where w.account_id = old.account_id
                       and w.state in ('awaiting_confirmation', 'screening', 'held_for_review', 'time_locked', 'queued')))))
          and not exists (select 1 from incident_resume_halts h
                          join incident_resume_approvals a on a.request_id = h.request_id
                          where h.halt_id = old.id) then
          raise exception 'this halt is lifted only by an approved two-person resume'
            using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger halts_two_person_lift before update on halts
      for each row execute function halts_two_person_lift()`.execute(db);
  } else {
    await sql`create index audit_log_by_incident on audit_log (json_extract(data, '$.incident_id'), seq)
      where json_extract(data, '$.incident_id') is not null`.execute(db);
    for (const event of ['insert', 'update']) {
      await sql`create trigger ${sql.raw(`incident_resume_approval_requester_${event}`)}
        before ${sql.raw(event)} on incident_resume_approvals
        when not exists (select 1 from incident_resume_requests r
                         where r.id = new.request_id and r.requested_by = new.requested_by)
        begin select raise(abort, 'a resume approval must name the request''s own requester'); end`.execute(
        db,
      );
    }
    await sql`create trigger halts_two_person_lift before update of lifted_at on halts
      when old.lifted_at is null and new.lifted_at is not null
        and (old.created_by like 'system:%' or (old.incident_id is not null and (old.scope <> 'account'
          or exists (select 1 from withdrawals w where w.account_id = old.account_id
                     and w.state in ('awaiting_confirmation', 'screening', 'held_for_review', 'time_locked', 'queued')))))
        and not exists (select 1 from incident_resume_halts h
                        join incident_resume_approvals a on a.request_id = h.request_id
                        where h.halt_id = old.id)
      begin select raise(abort, 'this halt is lifted only by an approved two-person resume'); end`.execute(
      db,
    );
  }
}
