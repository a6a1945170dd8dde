import { sql } from 'kysely';
import { type AnyDb, amountType, type MigrationEngine } from './column-types.ts';

/**
 * Reimbursing an incident's losses (src/services/incidents/reimbursement.ts): a request by one operator, approved
 * by a second, then paid from the platform treasury in batches, one ledger transfer per withdrawal.
 *
 * - `incident_reimbursements`: the request. The database refuses an approval by the operator who requested it
 *   (CHECK), whatever the service does: an admin is one person, not two.
 * - `incident_reimbursement_items`: one row per withdrawal paid back, keyed by the withdrawal alone, so a withdrawal
 *   is reimbursed at most once even when it is marked in two incidents. `units` is the withdrawal's amount + fee when
 *   requested; the service checks it again against the withdrawal before paying. An item is marked paid only when
 *   its request is approved, and a paid item never changes again (triggers, both engines).
 *
 * What an insider who can write rows still cannot do (triggers, both engines):
 * - a request is inserted only as 'requested', by an operator principal holding `incident.reimburse_request`; it
 *   changes only once, by an UPDATE requested -> approved naming an operator holding `incident.reimburse_approve`
 *   (other than the requester) and the items digest the service stores; nothing else of it ever changes, and it is
 *   never deleted (nor replaced, SQLite's INSERT OR REPLACE).
 * - items are inserted only while their request is 'requested' and unpaid; afterwards only `transfer_id`/`paid_at`
 *   are set, once; an item is never deleted. The service checks the digest of the items before each batch, too.
 * The roles below MUST stay in step with `incident.reimburse_request` / `incident.reimburse_approve` in
 * src/core/identity/operator-roles.ts (both are ['incident_commander', 'admin'] there).
 */
const REQUEST_ROLES = sql.raw(`('incident_commander', 'admin')`);
const APPROVE_ROLES = sql.raw(`('incident_commander', 'admin')`);
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('incident_reimbursements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('requested', 'approved')`))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`length(reason) between 3 and 500`))
    .addColumn('requested_by', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text', (c) => c.references('principals.id'))
    .addColumn('approved_at', 'text')
    /** `count:sha256hex` over the request's sorted items, stored at approval (src/services/incidents/reimbursement.ts). */
    .addColumn('items_digest', 'text')
    .addCheckConstraint(
      'incident_reimbursements_four_eyes',
      sql`approved_by is null or approved_by <> requested_by`,
    )
    .addCheckConstraint(
      'incident_reimbursements_approved_has_who',
      sql`(status = 'approved') = (approved_by is not null and approved_at is not null and items_digest is not null)`,
    )
    .execute();
  await db.schema
    .createIndex('incident_reimbursements_by_incident')
    .on('incident_reimbursements')
    .columns(['incident_id', 'requested_at'])
    .execute();

  await db.schema
    .createTable('incident_reimbursement_items')
    .addColumn('withdrawal_id', 'text', (c) => c.primaryKey().references('withdrawals.id'))
    .addColumn('reimbursement_id', 'text', (c) => c.notNull().references('incident_reimbursements.id'))
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('units', amountType(engine), (c) => c.notNull())
    .addColumn('transfer_id', 'text')
    .addColumn('paid_at', 'text')
    .addCheckConstraint(
      'incident_reimbursement_items_paid_has_transfer',
      sql`(transfer_id is null) = (paid_at is null)`,
    )
    .execute();
  await db.schema
    .createIndex('incident_reimbursement_items_by_request')
    .on('incident_reimbursement_items')
    .columns(['reimbursement_id', 'paid_at', 'withdrawal_id'])
    .execute();
  await db.schema
    .createIndex('incident_reimbursement_items_by_incident')
    .on('incident_reimbursement_items')
    .columns(['incident_id', 'asset'])
    .execute();

  const refusal = 'a reimbursement is paid only once its request is approved by a second operator';
  if (engine === 'postgres') {
    await sql`create function reimbursement_paid_only_approved() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and old.paid_at is not null then
          raise exception 'a paid reimbursement is final' using errcode = 'check_violation';
        end if;
        if new.paid_at is not null and not exists (
          select 1 from incident_reimbursements r where r.id = new.reimbursement_id and r.status = 'approved'
        ) then
          raise exception '${sql.raw(refusal)}' using errcode = 'check_violation';
        end if;
        return new;
      end
    $$`.execute(db);
    await sql`create trigger incident_reimbursement_items_approved before insert or update
      on incident_reimbursement_items for each row execute function reimbursement_paid_only_approved()`.execute(
      db,
    );
  } else {
    for (const event of ['insert', 'update']) {
      await sql`create trigger ${sql.raw(`incident_reimbursement_items_approved_${event}`)} before ${sql.raw(event)}
        on incident_reimbursement_items
        when new.paid_at is not null and not exists (
          select 1 from incident_reimbursements r where r.id = new.reimbursement_id and r.status = 'approved'
        )
        begin select raise(abort, '${sql.raw(refusal)}'); end`.execute(db);
    }
    await sql`create trigger incident_reimbursement_items_paid_final before update on incident_reimbursement_items
      when old.paid_at is not null
      begin select raise(abort, 'a paid reimbursement is final'); end`.execute(db);
  }
  await requestAndItemGuards(db, engine);
}

const operatorWith = (column: string, roles: typeof REQUEST_ROLES) =>
  sql`exists (select 1 from principals p where p.id = ${sql.raw(column)} and p.kind = 'operator' and p.role in ${roles})`;

/** The request's and the items' life cycle, as described at the top. */
async function requestAndItemGuards(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const badInsert = sql`new.status <> 'requested' or new.approved_by is not null or new.approved_at is not null
    or new.items_digest is not null or not ${operatorWith('new.requested_by', REQUEST_ROLES)}`;
  const badApproval = sql`old.status <> 'requested' or new.status <> 'approved' or new.id <> old.id
    or new.incident_id <> old.incident_id or new.reason <> old.reason or new.requested_by <> old.requested_by
    or new.requested_at <> old.requested_at or new.approved_by = old.requested_by
    or not ${operatorWith('new.approved_by', APPROVE_ROLES)}`;
  const badItemInsert = sql`new.paid_at is not null or new.transfer_id is not null or not exists (
    select 1 from incident_reimbursements r where r.id = new.reimbursement_id and r.status = 'requested')`;
  const badItemUpdate = sql`new.withdrawal_id <> old.withdrawal_id or new.reimbursement_id <> old.reimbursement_id
    or new.incident_id <> old.incident_id or new.account_id <> old.account_id or new.asset <> old.asset
    or new.units <> old.units or old.paid_at is not null or new.paid_at is null`;
  const requests =
    'a reimbursement request is inserted as requested by an operator with the role, then only approved by another';
  const items =
    'a reimbursement item is added only to a request not yet approved, and only its payment is recorded';
  if (engine === 'postgres') {
    await sql`create function reimbursement_request_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' and not (${badInsert}) then return new; end if;
        if tg_op = 'UPDATE' and not (${badApproval}) then return new; end if;
        raise exception '${sql.raw(requests)}' using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger incident_reimbursements_guard before insert or update or delete
      on incident_reimbursements for each row execute function reimbursement_request_guard()`.execute(db);
    await sql`create function reimbursement_item_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' and not (${badItemInsert}) then return new; end if;
        if tg_op = 'UPDATE' and not (${badItemUpdate}) then return new; end if;
        raise exception '${sql.raw(items)}' using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger incident_reimbursement_items_guard before insert or update or delete
      on incident_reimbursement_items for each row execute function reimbursement_item_guard()`.execute(db);
    for (const table of ['incident_reimbursements', 'incident_reimbursement_items']) {
      await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.raw(table)}
        for each statement execute function reimbursement_item_guard()`.execute(db);
    }
    return;
  }
  const abort = (message: string) => sql`begin select raise(abort, '${sql.raw(message)}'); end`;
  // INSERT OR REPLACE deletes without firing DELETE triggers: refused for a row that exists.
  await sql`create trigger incident_reimbursements_insert before insert on incident_reimbursements
    when ${badInsert} or exists (select 1 from incident_reimbursements r where r.id = new.id)
    ${abort(requests)}`.execute(db);
  await sql`create trigger incident_reimbursements_update before update on incident_reimbursements
    when ${badApproval} ${abort(requests)}`.execute(db);
  await sql`create trigger incident_reimbursements_delete before delete on incident_reimbursements
    ${abort(requests)}`.execute(db);
  await sql`create trigger incident_reimbursement_items_insert before insert on incident_reimbursement_items
    when ${badItemInsert} or exists (select 1 from incident_reimbursement_items i where i.withdrawal_id = new.withdrawal_id)
    ${abort(items)}`.execute(db);
  await sql`create trigger incident_reimbursement_items_update before update on incident_reimbursement_items
    when ${badItemUpdate} ${abort(items)}`.execute(db);
  await sql`create trigger incident_reimbursement_items_delete before delete on incident_reimbursement_items
    ${abort(items)}`.execute(db);
}
