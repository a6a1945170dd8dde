import { type RawBuilder, sql } from 'kysely';
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
 * - Requester and approver are operator principals (`operator:<principal id>`) whose role may request or approve a
 *   resume (incident_commander, admin: core/identity/operator-roles.ts; a test holds the two together). The three
 *   resume tables are append-only, and a halt cannot join a request once it is approved.
 * - A trigger on `halts` refuses to lift, without an approval that names the halt, a halt the monitor placed
 *   (`system:*`) or one an incident placed. The one exception is an incident's account halt (a freeze) whose
 *   account has nothing waiting to be released: one operator unfreezes that (services/incidents/freeze.ts).
 * - Halts are history: never deleted (nor replaced on SQLite, nor truncated on PostgreSQL), inserted active, and
 *   the only update is the lift, once (`lifted_at` and `lifted_by` set, nothing else changed), judged on the row
 *   as it was placed.
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
    await sql`create function incident_resume_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'the resume records are append-only' using errcode = 'check_violation';
      end
    $$`.execute(db);
    for (const table of ['incident_resume_requests', 'incident_resume_halts', 'incident_resume_approvals'])
      await sql`create trigger ${sql.raw(`${table}_append_only`)} before update or delete on ${sql.raw(table)}
        for each row execute function incident_resume_append_only()`.execute(db);
    await sql`create function incident_resume_request_guard() returns trigger language plpgsql as $$
      begin
        if not exists (${resumeOperator(sql`new.requested_by`)}) then
          raise exception 'a resume is requested by an incident commander or an admin' using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger incident_resume_request_guard before insert on incident_resume_requests
      for each row execute function incident_resume_request_guard()`.execute(db);
    await sql`create function incident_resume_halt_guard() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from incident_resume_approvals a where a.request_id = new.request_id) then
          raise exception 'a halt cannot join an approved resume request' using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger incident_resume_halt_guard before insert on incident_resume_halts
      for each row execute function incident_resume_halt_guard()`.execute(db);
    await sql`create function incident_resume_approval_guard() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from incident_resume_requests r
                       where r.id = new.request_id and r.requested_by = new.requested_by) then
          raise exception 'a resume approval must name the request''s own requester'
            using errcode = 'check_violation';
        end if;
        if not exists (${resumeOperator(sql`new.approved_by`)}) then
          raise exception 'a resume is approved by an incident commander or an admin' using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger incident_resume_approval_requester before insert on incident_resume_approvals
      for each row execute function incident_resume_approval_guard()`.execute(db);
    await sql`create function halts_history() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          if new.lifted_at is not null or new.lifted_by is not null then
            raise exception 'a halt is inserted active' using errcode = 'check_violation';
          end if;
          return new;
        end if;
        if tg_op = 'DELETE' or tg_op = 'TRUNCATE' then
          raise exception 'halts are never deleted' using errcode = 'check_violation';
        end if;
        if old.lifted_at is not null or new.lifted_at is null or new.lifted_by is null
          or (to_jsonb(new) - 'lifted_at' - 'lifted_by') is distinct from (to_jsonb(old) - 'lifted_at' - 'lifted_by') then
          raise exception 'a halt changes only by being lifted, once' using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger halts_history before insert or update or delete on halts
      for each row execute function halts_history()`.execute(db);
    await sql`create trigger halts_no_truncate before truncate on halts
      for each statement execute function halts_history()`.execute(db);
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
    for (const table of ['incident_resume_requests', 'incident_resume_halts', 'incident_resume_approvals'])
      for (const event of ['update', 'delete'])
        await sql`create trigger ${sql.raw(`${table}_append_only_${event}`)} before ${sql.raw(event)} on ${sql.raw(table)}
          begin select raise(abort, 'the resume records are append-only'); end`.execute(db);
    await sql`create trigger incident_resume_request_guard before insert on incident_resume_requests
      when not exists (${resumeOperator(sql`new.requested_by`)})
      begin select raise(abort, 'a resume is requested by an incident commander or an admin'); end`.execute(
      db,
    );
    await sql`create trigger incident_resume_halt_guard before insert on incident_resume_halts
      when exists (select 1 from incident_resume_approvals a where a.request_id = new.request_id)
      begin select raise(abort, 'a halt cannot join an approved resume request'); end`.execute(db);
    await sql`create trigger incident_resume_approval_requester_insert before insert on incident_resume_approvals
      when not exists (select 1 from incident_resume_requests r
                       where r.id = new.request_id and r.requested_by = new.requested_by)
      begin select raise(abort, 'a resume approval must name the request''s own requester'); end`.execute(db);
    await sql`create trigger incident_resume_approval_approver before insert on incident_resume_approvals
      when not exists (${resumeOperator(sql`new.approved_by`)})
      begin select raise(abort, 'a resume is approved by an incident commander or an admin'); end`.execute(
      db,
    );
    // INSERT OR REPLACE deletes the old row without the delete trigger (recursive triggers are off): refused here.
    await sql`create trigger halts_inserted_active before insert on halts
      when new.lifted_at is not null or new.lifted_by is not null or exists (select 1 from halts h where h.id = new.id)
      begin select raise(abort, 'a halt is inserted active, once'); end`.execute(db);
    await sql`create trigger halts_never_deleted before delete on halts
      begin select raise(abort, 'halts are never deleted'); end`.execute(db);
    await sql`create trigger halts_lifted_once before update on halts
      when old.lifted_at is not null or new.lifted_at is null or new.lifted_by is null
        or new.id is not old.id or new.scope is not old.scope or new.asset is not old.asset
        or new.network is not old.network or new.account_id is not old.account_id or new.reason is not old.reason
        or new.created_by is not old.created_by or new.created_at is not old.created_at
        or new.incident_id is not old.incident_id
      begin select raise(abort, 'a halt changes only by being lifted, once'); end`.execute(db);
    await sql`create trigger halts_two_person_lift before update on halts
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

/**
 * The principal behind an `operator:<id>` actor name, when it is an operator whose role may request and approve a
 * resume: `incident.resume_request` and `incident.resume_approve` in core/identity/operator-roles.ts (the same two
 * roles; test/http/operator/incident-resume-database.test.ts fails when they drift apart).
 */
function resumeOperator(actor: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`select 1 from principals p where ${actor} = 'operator:' || p.id and p.kind = 'operator'
    and p.role in ('incident_commander', 'admin')`;
}
