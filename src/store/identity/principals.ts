import { sql } from 'kysely';
import { assert } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { compiledInsert, compiledOnce, engineOf, rowsOf } from '../compiled-query.ts';
import type { Database } from '../database.ts';
import type { OperatorRole, PrincipalKind, PrincipalsTable } from '../schema-identity.ts';
import type { Tx } from '../transaction.ts';
import { type Queryable, queryable } from '../transaction.ts';

export type Principal = Readonly<PrincipalsTable>;

/**
 * Every column of `principals`, named: a hot read that names its columns is prepared once per PostgreSQL connection
 * (database.ts), where `select *` is parsed every time.
 */
export const PRINCIPAL_COLUMNS = [
  'id',
  'kind',
  'email',
  'email_verified_at',
  'password_hash',
  'role',
  'locked_at',
  'locked_reason',
  'session_epoch',
  'mfa_epoch',
  'withdrawals_locked_until',
  'mfa_failures',
  'mfa_lock_count',
  'mfa_locked_until',
  'last_totp_step',
  'totp_last_step_session',
  'totp_last_step_ip',
  'created_at',
] as const satisfies readonly (keyof PrincipalsTable)[];
// A column added to the table and not to the list fails here.
const everyPrincipalColumn: Exclude<keyof PrincipalsTable, (typeof PRINCIPAL_COLUMNS)[number]> extends never
  ? true
  : false = true;
void everyPrincipalColumn;

/** Whether any account, customer or operator, exists: an installation that has one is not seeded. */
export async function anyPrincipalExists(on: Queryable): Promise<boolean> {
  const row = await queryable(on).selectFrom('principals').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function findPrincipalByEmail(
  on: Queryable,
  kind: PrincipalKind,
  email: string,
): Promise<Principal | undefined> {
  const tx = queryable(on);
  return tx
    .selectFrom('principals')
    .selectAll()
    .where('kind', '=', kind)
    .where('email', '=', email)
    .executeTakeFirst();
}

export async function findPrincipal(on: Queryable, id: string): Promise<Principal | undefined> {
  const tx = queryable(on);
  return tx.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Reads a principal and, on PostgreSQL, holds its row until the transaction ends, so checks
 * that read a counter and write it back (second-factor failures) run one at a time per account. On SQLite
 * the caller's BEGIN IMMEDIATE already serialises every writer.
 */
export async function lockPrincipal(tx: Tx, id: string): Promise<Principal | undefined> {
  return (await rowsOf(tx, lockPrincipalQuery(tx, id, engineOf(tx) === 'postgres')))[0];
}

const selectPrincipal = compiledOnce(1, (tx: Tx, _engine, id: string) =>
  tx.selectFrom('principals').select(PRINCIPAL_COLUMNS).where('id', '=', id),
);
const lockPrincipalRow = compiledOnce(1, (tx: Tx, _engine, id: string) =>
  tx.selectFrom('principals').select(PRINCIPAL_COLUMNS).where('id', '=', id).forUpdate(),
);

/** lockPrincipal's statement, for a caller that batches it (store/transaction.ts `together`). */
export function lockPrincipalQuery(tx: Tx, id: string, rowLocks: boolean) {
  assert(!rowLocks || tx.isTransaction, 'a principal row lock is only held inside a transaction');
  return (rowLocks ? lockPrincipalRow : selectPrincipal).statement(tx, id);
}

export async function insertPrincipal(
  tx: Tx,
  input: { kind: PrincipalKind; email: string; passwordHash: string; role: OperatorRole | null; now: string },
): Promise<Principal> {
  const row: PrincipalsTable = {
    id: newId(),
    kind: input.kind,
    email: input.email,
    email_verified_at: input.kind === 'operator' ? input.now : null,
    password_hash: input.passwordHash,
    role: input.role,
    locked_at: null,
    locked_reason: null,
    session_epoch: 1,
    mfa_epoch: 1,
    withdrawals_locked_until: null,
    mfa_failures: 0,
    mfa_lock_count: 0,
    mfa_locked_until: null,
    last_totp_step: 0,
    totp_last_step_session: null,
    totp_last_step_ip: null,
    created_at: input.now,
  };
  await tx.insertInto('principals').values(row).execute();
  return row;
}

export async function updatePrincipal(
  tx: Tx,
  id: string,
  changes: Partial<Omit<PrincipalsTable, 'id' | 'kind' | 'created_at'>>,
): Promise<void> {
  await tx.updateTable('principals').set(changes).where('id', '=', id).execute();
}

/** Ends every session of one principal at once (the per-account epoch). */
export async function bumpPrincipalSessionEpoch(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('principals')
    .set({ session_epoch: sql`session_epoch + 1` })
    .where('id', '=', id)
    .execute();
}

export async function bumpPrincipalMfaEpoch(tx: Tx, id: string): Promise<void> {
  await tx.updateTable('principals').set({ mfa_epoch: sql`mfa_epoch + 1` }).where('id', '=', id).execute();
}

/** Who uses a TOTP step: the session it is used in (none yet at login) and the IP address it came from. */
export interface TotpClaimant {
  readonly sessionId: string | null;
  readonly ip: string | null;
}

/**
 * Records that TOTP step `step` was used, and by whom, only if it is newer than every step used before: the
 * conditional UPDATE is the replay guard, atomic on both engines even when two requests race with the same code.
 */
export async function claimTotpStep(
  tx: Tx,
  id: string,
  step: number,
  by: TotpClaimant,
  claim: { readonly purpose: string; readonly factorId: string; readonly at: string },
): Promise<boolean> {
  // Its history, one row per account and step (the primary key refuses a second): what the monitor checks.
  if (engineOf(tx) === 'postgres') {
    // One statement: the claim's row is inserted from the UPDATE's answer, so only a step that was claimed has one.
    const result = await claimStepWithHistory(
      tx,
      id,
      String(step),
      by.sessionId,
      by.ip,
      claim.purpose,
      claim.factorId,
      claim.at,
    );
    return result.numAffectedRows === 1n;
  }
  const result = await claimStep(tx, id, step as unknown as string, by.sessionId, by.ip);
  if (result.numAffectedRows !== 1n) return false;
  await insertClaim.run(tx, {
    principal_id: id,
    step: String(step),
    purpose: claim.purpose,
    factor_id: claim.factorId,
    session_id: by.sessionId,
    ip: by.ip,
    claimed_at: claim.at,
  });
  return true;
}

const claimStepWithHistory = compiledOnce(
  7,
  (
    tx: Tx,
    _engine,
    id: string,
    step: string,
    session: string | null,
    ip: string | null,
    purpose: string,
    factorId: string,
    at: string,
  ) => ({
    compile: () =>
      sql`with claimed as (
          update principals
             set last_totp_step = ${step}::bigint, mfa_failures = 0,
                 totp_last_step_session = ${session}::text, totp_last_step_ip = ${ip}::text
           where id = ${id}::text and last_totp_step < ${step}::bigint
          returning id)
        insert into totp_claims (principal_id, step, purpose, factor_id, session_id, ip, claimed_at)
        select id, ${step}::bigint, ${purpose}::text, ${factorId}::text, ${session}::text, ${ip}::text, ${at}::text
          from claimed`.compile(tx),
  }),
);

const insertClaim = compiledInsert('totp_claims', [
  'principal_id',
  'step',
  'purpose',
  'factor_id',
  'session_id',
  'ip',
  'claimed_at',
]);

const claimStep = compiledOnce(
  4,
  (tx: Tx, _engine, id: string, step: string, session: string | null, ip: string | null) =>
    tx
      .updateTable('principals')
      // A claimed step is a right code: the count of consecutive wrong ones ends here too.
      .set({
        last_totp_step: step as unknown as number,
        mfa_failures: 0,
        totp_last_step_session: session,
        totp_last_step_ip: ip,
      })
      .where('id', '=', id)
      .where('last_totp_step', '<', step as unknown as number),
);

/**
 * Names the session a login opened as the claimant of the step its code used (the claim was made before the
 * session existed), unless a later step was claimed since.
 */
export async function recordTotpStepSession(
  tx: Tx,
  id: string,
  step: number,
  sessionId: string,
): Promise<void> {
  await tx
    .updateTable('principals')
    .set({ totp_last_step_session: sessionId })
    .where('id', '=', id)
    .where('last_totp_step', '=', step)
    .execute();
}

/** Whether any operator exists (one row read: any is enough). */
export async function anyOperator(on: Queryable): Promise<boolean> {
  const tx = queryable(on);
  const row = await tx
    .selectFrom('principals')
    .select('id')
    .where('kind', '=', 'operator')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// Held (PostgreSQL) while the first operator is made, so two bootstraps cannot both find none.
const BOOTSTRAP_LOCK_KEY = 0x0d7a_b007;

/**
 * anyOperator, inside the transaction that makes the first operator: on PostgreSQL under a transaction-scoped
 * advisory lock, so two bootstraps cannot both find none (SQLite's single writer serialises them already).
 */
export async function anyOperatorLocked(database: Database, tx: Tx): Promise<boolean> {
  if (database.engine === 'postgres')
    await sql`select pg_advisory_xact_lock(${sql.raw(BOOTSTRAP_LOCK_KEY.toString())})`.execute(tx);
  return anyOperator(tx);
}

/**
 * Customers, newest first, whose email starts with `emailPrefix` (when given): `limit` rows after `startingAfter`
 * (the last id of the page before). The prefix is matched literally (LIKE wildcards in it are escaped).
 */
export async function findCustomers(
  on: Queryable,
  emailPrefix: string | undefined,
  limit: number,
  startingAfter: string | undefined,
): Promise<Principal[]> {
  let query = queryable(on).selectFrom('principals').selectAll().where('kind', '=', 'customer');
  if (emailPrefix !== undefined) {
    const literal = emailPrefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    query = query.where(sql<boolean>`email like ${`${literal}%`} escape '\\'`);
  }
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
  return query.orderBy('id', 'desc').limit(limit).execute();
}
