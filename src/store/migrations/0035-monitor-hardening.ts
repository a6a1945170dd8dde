import { sql } from 'kysely';
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
 */
const APPEND_ONLY = [
  { table: 'totp_claims', key: 'principal_id = new.principal_id and step = new.step' },
  { table: 'monitor_proof_uses', key: 'token = new.token' },
  { table: 'monitor_verdicts', key: 'withdrawal_id = new.withdrawal_id and verdict = new.verdict' },
  { table: 'ledger_transfers', key: undefined },
] as const;

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('mfa_factors').addColumn('binding', 'text').execute();
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
