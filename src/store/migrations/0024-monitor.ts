import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The independent monitor's tables (src/services/monitor).
 *
 * - `monitor_feed`: a queue the database fills by trigger on every insert into `withdrawals` and every change of
 *   a withdrawal's state (but into awaiting_confirmation, where nothing was approved yet), whoever writes it (the services, or someone writing rows around them). The monitor takes
 *   rows and deletes them once checked, so a row that commits out of order (a lower seq after a higher one) is
 *   still taken: there is no cursor to skip it. On PostgreSQL the trigger also NOTIFYs `drawbridge_monitor`.
 * - `monitor_verdicts`: the monitor's signed verdicts, at most an approval and a rejection per withdrawal (a
 *   rejection is final: a later finding, or the withdrawal's end, adds one beside the approval). The releaser
 *   releases only on an approval whose Ed25519 signature verifies under the monitor's pinned public key, and never
 *   beside a rejection: a row written here without that key is refused. Append-only (migration 0035).
 * - `monitor_proof_uses`: each proof token (a TOTP step, a recovery code, a passkey challenge) the monitor has
 *   accepted, unique, so evidence reused by a second withdrawal is found.
 * - `monitor_findings`: what the monitor found, one row per withdrawal and check.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const serial = engine === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
  await sql`create table monitor_feed (
    seq ${serial},
    withdrawal_id text not null,
    state text not null,
    at text not null
  )`.execute(db);
  await db.schema.createIndex('monitor_feed_withdrawal').on('monitor_feed').column('withdrawal_id').execute();

  if (engine === 'postgres') {
    await sql`create function monitor_feed_enqueue() returns trigger language plpgsql as $$
      begin
        if new.state <> 'awaiting_confirmation'
          and (tg_op = 'INSERT' or new.state is distinct from old.state) then
          insert into monitor_feed (withdrawal_id, state, at)
            values (new.id, new.state, to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
          perform pg_notify('drawbridge_monitor', new.id);
        end if;
        return null;
      end
    $$`.execute(db);
    await sql`create trigger withdrawals_monitor_feed after insert or update of state on withdrawals
      for each row execute function monitor_feed_enqueue()`.execute(db);
  } else {
    await sql`create trigger withdrawals_monitor_feed_insert after insert on withdrawals
      when new.state <> 'awaiting_confirmation'
      begin
        insert into monitor_feed (withdrawal_id, state, at)
          values (new.id, new.state, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
      end`.execute(db);
    await sql`create trigger withdrawals_monitor_feed_update after update of state on withdrawals
      when new.state is not old.state and new.state <> 'awaiting_confirmation'
      begin
        insert into monitor_feed (withdrawal_id, state, at)
          values (new.id, new.state, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
      end`.execute(db);
  }

  await db.schema
    .createTable('monitor_verdicts')
    .addColumn('withdrawal_id', 'text', (c) => c.notNull())
    .addColumn('verdict', 'text', (c) => c.notNull().check(sql`verdict in ('approve', 'reject')`))
    .addColumn('statement', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('monitor_verdicts_pk', ['withdrawal_id', 'verdict'])
    .execute();

  await db.schema
    .createTable('monitor_proof_uses')
    .addColumn('token', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('monitor_findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull())
    .addColumn('check_name', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull().check(sql`severity in ('warning', 'critical')`))
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addUniqueConstraint('monitor_findings_once', ['withdrawal_id', 'check_name'])
    .execute();
}
