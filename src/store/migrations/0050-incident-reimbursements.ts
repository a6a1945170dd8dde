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
 */
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
    .addCheckConstraint(
      'incident_reimbursements_four_eyes',
      sql`approved_by is null or approved_by <> requested_by`,
    )
    .addCheckConstraint(
      'incident_reimbursements_approved_has_who',
      sql`(status = 'approved') = (approved_by is not null and approved_at is not null)`,
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
}
