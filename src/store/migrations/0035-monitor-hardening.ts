import { sql } from 'kysely';
import { FINAL_STATES } from '../../core/withdrawals/states.ts';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * What the monitor's checks rest on, kept by the database against writers without keys (an attacker review found
 * each of these moved around the services):
 *
 * - `mfa_factors.binding`: an HMAC over the factor's id, owner, method and key fingerprint, under a key derived
 *   from the TOTP sealing key (src/core/mfa/factor-key.ts). A key swapped in, a factor moved onto another account
 *   or a recovery code's hash replaced no longer verifies. Factors older than this have none: the monitor refuses
 *   what they prove until they are enrolled again.
 * - Append-only `totp_claims`, `monitor_proof_uses`, `monitor_verdicts` and `ledger_transfers`: a claim re-pointed
 *   at another purpose, a used proof token deleted so it looks fresh, a rejection deleted, or a void deleted to
 *   revive a cancelled withdrawal's hold are refused. On SQLite INSERT OR REPLACE is refused too (it deletes without firing DELETE triggers), except on
 *   `ledger_transfers`, whose idempotent insert is an INSERT ... ON CONFLICT DO NOTHING that a BEFORE INSERT
 *   trigger cannot tell from a REPLACE; there the monitor's signed rejection of every ended withdrawal is what
 *   stops a revived hold (src/services/monitor/check.ts).
 * - `factor_removals`, append-only, filled by trigger whenever a factor's status becomes `removed`, whoever writes
 *   it: a factor removed (a replaced recovery code, a passkey taken off) and then set back to look active or spent
 *   still has its removal on record, and the monitor refuses what it proves.
 * - A withdrawal in a final state (FINAL_STATES: completed, cancelled, rejected, expired) cannot be moved out of
 *   it: a cancelled withdrawal set back to queued is refused by the database itself.
 */
const APPEND_ONLY = [
  { table: 'totp_claims', key: 'principal_id = new.principal_id and step = new.step' },
  { table: 'monitor_proof_uses', key: 'token = new.token' },
  { table: 'monitor_verdicts', key: 'withdrawal_id = new.withdrawal_id and verdict = new.verdict' },
  { table: 'ledger_transfers', key: undefined },
  { table: 'factor_removals', key: 'factor_id = new.factor_id and removed_at = new.removed_at' },
] as const;

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('mfa_factors').addColumn('binding', 'text').execute();
  await db.schema
    .createTable('factor_removals')
    .addColumn('factor_id', 'text', (c) => c.notNull())
    .addColumn('removed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('factor_removals_pk', ['factor_id', 'removed_at'])
    .execute();
  const finals = sql.join(FINAL_STATES.map((state) => sql.lit(state)));
  if (engine === 'postgres') {
    await sql`create function factor_removal_recorded() returns trigger language plpgsql as $$
      begin
        insert into factor_removals (factor_id, removed_at)
          values (new.id, coalesce(new.removed_at, to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
          on conflict do nothing;
        return null;
      end
    $$`.execute(db);
    await sql`create trigger mfa_factors_removal after update of status on mfa_factors
      for each row when (new.status = 'removed' and old.status is distinct from 'removed')
      execute function factor_removal_recorded()`.execute(db);
    await sql`create function withdrawal_final_state() returns trigger language plpgsql as $$
      begin
        raise exception 'withdrawal % is %: a final state', old.id, old.state using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger withdrawals_final_state before update of state on withdrawals
      for each row when (old.state in (${finals}) and new.state is distinct from old.state)
      execute function withdrawal_final_state()`.execute(db);
  } else {
    await sql`create trigger mfa_factors_removal after update of status on mfa_factors
      when new.status = 'removed' and old.status is not 'removed'
      begin
        insert or ignore into factor_removals (factor_id, removed_at)
          values (new.id, coalesce(new.removed_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
      end`.execute(db);
    await sql`create trigger withdrawals_final_state before update of state on withdrawals
      when old.state in (${finals}) and new.state is not old.state
      begin select raise(abort, 'a withdrawal in a final state cannot move'); end`.execute(db);
  }
  if (engine === 'postgres') {
    await sql`create function append_only_refused() returns trigger language plpgsql as $$
      begin
        raise exception '% is append-only', tg_table_name using errcode = 'insufficient_privilege';
      end
    $$`.execute(db);
  }
  for (const { table, key } of APPEND_ONLY) {
    if (engine === 'postgres') {
      await sql`create trigger ${sql.raw(`${table}_no_update`)} before update on ${sql.table(table)}
        for each row execute function append_only_refused()`.execute(db);
      await sql`create trigger ${sql.raw(`${table}_no_delete`)} before delete on ${sql.table(table)}
        for each row execute function append_only_refused()`.execute(db);
      await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function append_only_refused()`.execute(db);
    } else {
      const refuse = sql.raw(`select raise(abort, '${table} is append-only')`);
      await sql`create trigger ${sql.raw(`${table}_no_update`)} before update on ${sql.table(table)}
        begin ${refuse}; end`.execute(db);
      await sql`create trigger ${sql.raw(`${table}_no_delete`)} before delete on ${sql.table(table)}
        begin ${refuse}; end`.execute(db);
      if (key !== undefined)
        await sql`create trigger ${sql.raw(`${table}_no_replace`)} before insert on ${sql.table(table)}
          when exists (select 1 from ${sql.table(table)} where ${sql.raw(key)})
          begin ${refuse}; end`.execute(db);
    }
  }
}
