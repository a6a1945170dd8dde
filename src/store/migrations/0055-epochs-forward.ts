import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Revocation by epoch cannot be undone by a writer of rows. A mass revocation (every customer session, or every
 * second factor, or every one of one method) moves a counter in `security_epochs`; a customer's own moves theirs in
 * `principals`; a factor or session counts only while the epochs it was made under are the current ones. Until now a
 * writer with access to the tables could put a counter back, or raise a revoked factor's epochs to the current
 * ones, and the factor (its secret leaked: the reason for the revocation) would count again, on the approval path
 * and for the monitor alike. So:
 * - every epoch counter only goes up (an integer, on SQLite by `typeof` too), and the one `security_epochs` row is
 *   never deleted or replaced;
 * - a factor's epochs are those it was activated under, for good: they change only in the update that activates a
 *   pending factor (src/store/identity/factors.ts stamps the current ones then), and a factor never becomes pending
 *   again; a factor row is never deleted or replaced (removal is its status, recorded in factor_removals), so it
 *   cannot be put back with the current epochs;
 * - a principal row is never deleted or replaced, so its own counters cannot start again from zero.
 */
const FORWARD = 'epochs only go up, and a factor keeps the epochs it was enrolled under';
const GLOBAL = ['session_epoch', 'mfa_epoch', 'totp_epoch', 'passkey_epoch', 'recovery_epoch'] as const;
const OWN = ['session_epoch', 'mfa_epoch'] as const;
const FACTOR = ['global_epoch', 'method_epoch', 'principal_epoch'] as const;

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  if (engine === 'postgres') {
    const rises = (columns: readonly string[]) => columns.map((c) => `new.${c} >= old.${c}`).join(' and ');
    const kept = (columns: readonly string[]) =>
      columns.map((c) => `new.${c} is not distinct from old.${c}`).join(' and ');
    await sql`create function security_epochs_forward() returns trigger language plpgsql as $$${sql.raw(`
      begin
        if tg_op = 'UPDATE' and new.id = old.id and ${rises(GLOBAL)} then return new; end if;
        raise exception '${FORWARD}' using errcode = 'check_violation';
      end`)}$$`.execute(db);
    await sql`create trigger security_epochs_forward before update or delete on security_epochs
      for each row execute function security_epochs_forward()`.execute(db);
    await sql`create trigger security_epochs_no_truncate before truncate on security_epochs
      for each statement execute function security_epochs_forward()`.execute(db);
    await sql`create function principal_epochs_forward() returns trigger language plpgsql as $$${sql.raw(`
      begin
        if tg_op = 'UPDATE' and ${rises(OWN)} then return new; end if;
        raise exception '${FORWARD}' using errcode = 'check_violation';
      end`)}$$`.execute(db);
    await sql`create trigger principal_epochs_forward before update of session_epoch, mfa_epoch or delete
      on principals for each row execute function principal_epochs_forward()`.execute(db);
    await sql`create function factor_epochs_kept() returns trigger language plpgsql as $$${sql.raw(`
      begin
        if tg_op = 'UPDATE' and not (new.status = 'pending' and old.status <> 'pending')
          and ((${kept(FACTOR)}) or (old.status = 'pending' and new.status = 'active')) then return new; end if;
        raise exception '${FORWARD}' using errcode = 'check_violation';
      end`)}$$`.execute(db);
    await sql`create trigger factor_epochs_kept before update of global_epoch, method_epoch, principal_epoch, status
      or delete on mfa_factors for each row execute function factor_epochs_kept()`.execute(db);
    for (const table of ['principals', 'mfa_factors'])
      await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function factor_epochs_kept()`.execute(db);
    return;
  }
  const refuse = sql.raw(`begin select raise(abort, '${FORWARD}'); end`);
  const falls = (columns: readonly string[]) =>
    sql.raw(columns.map((c) => `typeof(new.${c}) <> 'integer' or new.${c} < old.${c}`).join(' or '));
  await sql`create trigger security_epochs_forward before update on security_epochs
    when new.id is not old.id or ${falls(GLOBAL)} ${refuse}`.execute(db);
  await sql`create trigger security_epochs_no_delete before delete on security_epochs ${refuse}`.execute(db);
  // INSERT OR REPLACE deletes without firing DELETE triggers: refused for a row that exists.
  await sql`create trigger security_epochs_no_replace before insert on security_epochs
    when (select count(*) from security_epochs) > 0 ${refuse}`.execute(db);
  await sql`create trigger principal_epochs_forward before update of session_epoch, mfa_epoch on principals
    when ${falls(OWN)} ${refuse}`.execute(db);
  const changed = FACTOR.map((c) => `new.${c} is not old.${c}`).join(' or ');
  await sql`create trigger factor_epochs_kept before update of global_epoch, method_epoch, principal_epoch, status
    on mfa_factors
    when (new.status = 'pending' and old.status is not 'pending')
      or ((${sql.raw(changed)}) and not (old.status = 'pending' and new.status = 'active')) ${refuse}`.execute(
    db,
  );
  for (const table of ['principals', 'mfa_factors']) {
    await sql`create trigger ${sql.raw(`${table}_no_delete`)} before delete on ${sql.table(table)} ${refuse}`.execute(
      db,
    );
    await sql`create trigger ${sql.raw(`${table}_no_replace`)} before insert on ${sql.table(table)}
      when exists (select 1 from ${sql.table(table)} where id = new.id) ${refuse}`.execute(db);
  }
}
