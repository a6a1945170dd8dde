import { sql } from 'kysely';
import { type AnyDb, amountType, type MigrationEngine } from './column-types.ts';

/**
 * A deposit entered by hand is credited only once a second operator approved it (maker-checker): one operator, or
 * one stolen operator session, could otherwise credit a made-up chain output to an account they control and withdraw
 * it through the customer's own, genuine second factor, which the monitor rightly verifies.
 *
 * - `deposit_requests`: a chain output (network, txid, output index) recorded for a customer by one operator, and
 *   the operator who approved it, or who rejected it (a mistyped or made-up entry, with the reason). Written
 *   undecided; decided once: approved by someone other than its recorder, or rejected; its terms never change; never
 *   deleted (nor replaced, SQLite's INSERT OR REPLACE). One output has at most one request not rejected.
 * - `deposits` (the credited outputs, which the monitor ties each ledger credit to) now names both operators; a new
 *   row needs an approved request for exactly that output, account, asset, amount and pair of operators, and a row
 *   is never changed or deleted afterwards (those credited before this migration included).
 * Deposits credited before this migration keep null names (they were credited by one operator).
 */
const REQUESTS =
  'a deposit request is written undecided, then approved once by an operator other than its recorder, or rejected; its terms are kept';
const CREDITS =
  'a deposit is credited only for a request approved by a second operator, and is never changed';
const TERMS = [
  'id',
  'network',
  'txid',
  'output_index',
  'account_id',
  'asset',
  'amount',
  'recorded_by',
  'recorded_at',
];

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('deposit_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('txid', 'text', (c) => c.notNull())
    .addColumn('output_index', 'integer', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount', amountType(engine), (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'text')
    .addColumn('deposit_id', 'text')
    .addColumn('rejected_by', 'text')
    .addColumn('rejected_at', 'text')
    .addColumn('rejection_reason', 'text')
    .addCheckConstraint(
      'deposit_requests_second_operator',
      sql`approved_by is null or approved_by <> recorded_by`,
    )
    .execute();
  // One request per chain output, a rejected one aside (the output may then be recorded again, correctly).
  await sql`create unique index deposit_requests_chain_output on deposit_requests (network, txid, output_index)
    where rejected_at is null`.execute(db);
  // The queue of requests awaiting a decision, oldest first.
  await sql`create index deposit_requests_pending on deposit_requests (recorded_at, id)
    where approved_by is null and rejected_at is null`.execute(db);
  await db.schema.alterTable('deposits').addColumn('recorded_by', 'text').execute();
  await db.schema.alterTable('deposits').addColumn('approved_by', 'text').execute();

  const requestBadInsert = sql`new.approved_by is not null or new.approved_at is not null or new.deposit_id is not null
    or new.rejected_by is not null or new.rejected_at is not null or new.rejection_reason is not null`;
  const changed = TERMS.map((c) => sql`new.${sql.ref(c)} <> old.${sql.ref(c)}`);
  // Each side is true or false, never NULL (every comparison is guarded by an IS NOT NULL before it).
  const approval = sql`(new.approved_by is not null and new.approved_at is not null and new.deposit_id is not null
    and new.approved_by <> old.recorded_by
    and new.rejected_by is null and new.rejected_at is null and new.rejection_reason is null)`;
  const rejection = sql`(new.rejected_by is not null and new.rejected_at is not null and new.rejection_reason is not null
    and new.approved_by is null and new.approved_at is null and new.deposit_id is null)`;
  const requestBadUpdate = sql`old.approved_by is not null or old.rejected_at is not null
    or ${sql.join(changed, sql` or `)} or not (${approval} or ${rejection})`;
  const creditBad = sql`new.recorded_by is null or new.approved_by is null or new.recorded_by = new.approved_by
    or not exists (select 1 from deposit_requests r where r.network = new.network and r.txid = new.txid
      and r.output_index = new.output_index and r.account_id = new.account_id and r.asset = new.asset
      and r.amount = new.amount and r.recorded_by = new.recorded_by and r.approved_by = new.approved_by)`;
  if (engine === 'postgres') {
    await sql`create function deposit_request_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' and not (${requestBadInsert}) then return new; end if;
        if tg_op = 'UPDATE' and not (${requestBadUpdate}) then return new; end if;
        raise exception '${sql.raw(REQUESTS)}' using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger deposit_requests_guard before insert or update or delete on deposit_requests
      for each row execute function deposit_request_guard()`.execute(db);
    await sql`create trigger deposit_requests_no_truncate before truncate on deposit_requests
      for each statement execute function deposit_request_guard()`.execute(db);
    await sql`create function deposit_credit_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' and not (${creditBad}) then return new; end if;
        raise exception '${sql.raw(CREDITS)}' using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger deposits_second_operator before insert or update or delete on deposits
      for each row execute function deposit_credit_guard()`.execute(db);
    await sql`create trigger deposits_no_truncate before truncate on deposits
      for each statement execute function deposit_credit_guard()`.execute(db);
    return;
  }
  const abort = (message: string) => sql`begin select raise(abort, '${sql.raw(message)}'); end`;
  await sql`create trigger deposit_requests_insert before insert on deposit_requests
    when ${requestBadInsert} or exists (select 1 from deposit_requests r where r.id = new.id
      or (r.network = new.network and r.txid = new.txid and r.output_index = new.output_index
        and r.rejected_at is null))
    ${abort(REQUESTS)}`.execute(db);
  await sql`create trigger deposit_requests_update before update on deposit_requests
    when ${requestBadUpdate} ${abort(REQUESTS)}`.execute(db);
  await sql`create trigger deposit_requests_delete before delete on deposit_requests ${abort(REQUESTS)}`.execute(
    db,
  );
  // INSERT OR REPLACE deletes without firing DELETE triggers: refused for a row or an output that exists.
  await sql`create trigger deposits_second_operator before insert on deposits
    when ${creditBad} or exists (select 1 from deposits d where d.id = new.id
      or (d.network = new.network and d.txid = new.txid and d.output_index = new.output_index))
    ${abort(CREDITS)}`.execute(db);
  await sql`create trigger deposits_kept before update on deposits ${abort(CREDITS)}`.execute(db);
  await sql`create trigger deposits_not_deleted before delete on deposits ${abort(CREDITS)}`.execute(db);
}
