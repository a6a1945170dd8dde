import { newId } from '../../core/ids.ts';
import { compiledOnce, rowsOf } from '../compiled-query.ts';
import type { MfaFactorsTable, MfaMethod } from '../schema-identity.ts';
import type { Reads, Tx } from '../transaction.ts';
import { type Queryable, queryable } from '../transaction.ts';
import { methodEpoch, readEpochs, type SecurityEpochs } from './epochs.ts';
import type { Principal } from './principals.ts';

export type FactorRow = Readonly<MfaFactorsTable>;

/**
 * A factor counts only while every epoch it was enrolled under is still current (O(1) mass revocation). The
 * global epochs revoke customer factors only: operators answer to their own epoch, so the incident team that
 * revokes every customer's MFA can still sign in (operator sign-in always needs a second factor).
 */
export function factorIsCurrent(factor: FactorRow, epochs: SecurityEpochs, principal: Principal): boolean {
  const globallyCurrent =
    principal.kind === 'operator' ||
    (factor.global_epoch === epochs.mfa_epoch && factor.method_epoch === methodEpoch(epochs, factor.method));
  return factor.status === 'active' && globallyCurrent && factor.principal_epoch === principal.mfa_epoch;
}

export async function currentFactors(
  on: Queryable,
  principal: Principal,
  method?: MfaMethod,
): Promise<FactorRow[]> {
  const tx = queryable(on);
  return currentOfRows(
    (await rowsOf(tx, factorsOfMethodQuery(tx, principal.id, method))) as unknown[],
    principal,
  );
}

/** currentFactors' reads, for a caller that sends them with its own (store/transaction.ts `readTogether`). */
export function factorReads(tx: Tx, principal: Principal, method?: MfaMethod): Reads<FactorRow[]> {
  return {
    statements: [factorsOfMethodQuery(tx, principal.id, method)],
    decode: ([rows]) => currentOfRows(rows?.rows ?? [], principal),
  };
}

/**
 * A principal's active factors (of one method, or all), each with the global epochs beside it, in one statement that
 * needs nothing read before it (the principal's own epoch is compared by currentOfRows): at most 100, the oldest
 * first; a proof is checked against these only, so one that would match a factor past them is refused.
 */
export function factorsOfMethodQuery(tx: Tx, principalId: string, method: MfaMethod | undefined) {
  return method === undefined
    ? selectFactors.statement(tx, principalId)
    : selectFactorsOfMethod.statement(tx, principalId, method);
}

const EPOCH_COLUMNS = [
  'session_epoch',
  'mfa_epoch',
  'totp_epoch',
  'passkey_epoch',
  'recovery_epoch',
] as const;

function factorsWithEpochs(tx: Tx, principalId: string) {
  return (
    tx
      .selectFrom('mfa_factors as f')
      .innerJoin('security_epochs as e', (join) => join.on('e.id', '=', 1))
      .select(FACTOR_COLUMNS.map((column) => `f.${column}` as const))
      .select(EPOCH_COLUMNS.map((column) => `e.${column} as epoch_${column}` as const))
      .where('f.principal_id', '=', principalId)
      .where('f.status', '=', 'active')
      // Factors of an earlier epoch never count: left out here already, so they cannot crowd out the current ones.
      .where('f.principal_epoch', '=', (eb) =>
        eb.selectFrom('principals').select('mfa_epoch').where('id', '=', principalId),
      )
      .where((eb) =>
        eb.or([
          eb('f.global_epoch', '=', eb.ref('e.mfa_epoch')),
          eb(eb.selectFrom('principals').select('kind').where('id', '=', principalId), '=', 'operator'),
        ]),
      )
  );
}

const selectFactors = compiledOnce(1, (tx: Tx, _engine, principalId: string) =>
  factorsWithEpochs(tx, principalId).orderBy('f.created_at').orderBy('f.id').limit(100),
);
const selectFactorsOfMethod = compiledOnce(2, (tx: Tx, _engine, principalId: string, method: string) =>
  factorsWithEpochs(tx, principalId)
    .where('f.method', '=', method as MfaMethod)
    .orderBy('f.created_at')
    .orderBy('f.id')
    .limit(100),
);

/** The rows of factorsOfMethodQuery that count for `principal` now (factorIsCurrent). */
export function currentOfRows(rows: readonly unknown[], principal: Principal): FactorRow[] {
  const current: FactorRow[] = [];
  for (const raw of rows as (FactorRow & Record<`epoch_${(typeof EPOCH_COLUMNS)[number]}`, number>)[]) {
    const epochs: SecurityEpochs = {
      session_epoch: Number(raw.epoch_session_epoch),
      mfa_epoch: Number(raw.epoch_mfa_epoch),
      totp_epoch: Number(raw.epoch_totp_epoch),
      passkey_epoch: Number(raw.epoch_passkey_epoch),
      recovery_epoch: Number(raw.epoch_recovery_epoch),
    };
    const row = Object.fromEntries(FACTOR_COLUMNS.map((column) => [column, raw[column]])) as FactorRow;
    if (factorIsCurrent(row, epochs, principal)) current.push(row);
  }
  return current;
}

/** Every column of a factor, named (PostgreSQL prepares a statement with a column list once, a `*` every time). */
export const FACTOR_COLUMNS = [
  'id',
  'principal_id',
  'method',
  'status',
  'label',
  'secret',
  'credential_id',
  'public_key',
  'sign_count',
  'code_hash',
  'used_at',
  'global_epoch',
  'method_epoch',
  'principal_epoch',
  'created_at',
  'activated_at',
  'removed_at',
  'binding',
] as const satisfies readonly (keyof MfaFactorsTable)[];

export type NewFactor = Pick<MfaFactorsTable, 'principal_id' | 'method' | 'status' | 'label'> &
  Partial<
    Pick<
      MfaFactorsTable,
      'id' | 'secret' | 'credential_id' | 'public_key' | 'code_hash' | 'activated_at' | 'binding'
    >
  > & {
    sign_count?: number;
  };

export async function insertFactor(
  tx: Tx,
  principal: Principal,
  factor: NewFactor,
  now: string,
): Promise<FactorRow> {
  const epochs = await readEpochs(tx);
  const row: MfaFactorsTable = {
    id: factor.id ?? newId(),
    principal_id: factor.principal_id,
    method: factor.method,
    status: factor.status,
    label: factor.label,
    secret: factor.secret ?? null,
    credential_id: factor.credential_id ?? null,
    public_key: factor.public_key ?? null,
    sign_count: factor.sign_count ?? 0,
    code_hash: factor.code_hash ?? null,
    used_at: null,
    global_epoch: epochs.mfa_epoch,
    method_epoch: methodEpoch(epochs, factor.method),
    principal_epoch: principal.mfa_epoch,
    created_at: now,
    activated_at: factor.activated_at ?? null,
    removed_at: null,
    binding: factor.binding ?? null,
  };
  await tx.insertInto('mfa_factors').values(row).execute();
  return row;
}

export async function findFactor(tx: Tx, principalId: string, id: string): Promise<FactorRow | undefined> {
  return tx
    .selectFrom('mfa_factors')
    .selectAll()
    .where('id', '=', id)
    .where('principal_id', '=', principalId)
    .executeTakeFirst();
}

/** A TOTP factor's sealed secret (sealed with the factor's id, so written once the row exists) and its binding. */
export async function setFactorSecret(
  tx: Tx,
  id: string,
  sealedSecret: string,
  binding: string,
): Promise<void> {
  await tx.updateTable('mfa_factors').set({ secret: sealedSecret, binding }).where('id', '=', id).execute();
}

/** Whether any factor (of any principal, in any status) already has this passkey credential id. */
export async function isCredentialRegistered(tx: Tx, credentialId: string): Promise<boolean> {
  const duplicate = await tx
    .selectFrom('mfa_factors')
    .select('id')
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
  return duplicate !== undefined;
}

/**
 * Activation stamps the epochs current now: an enrolment started before a mass revocation and confirmed after
 * it is a new factor, not one that silently never counts while the customer believes it protects them.
 */
export async function activateFactor(tx: Tx, principal: Principal, id: string, now: string): Promise<void> {
  const epochs = await readEpochs(tx);
  const factor = await tx
    .selectFrom('mfa_factors')
    .select('method')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  await tx
    .updateTable('mfa_factors')
    .set({
      status: 'active',
      activated_at: now,
      global_epoch: epochs.mfa_epoch,
      method_epoch: methodEpoch(epochs, factor.method),
      principal_epoch: principal.mfa_epoch,
    })
    .where('id', '=', id)
    .where('principal_id', '=', principal.id)
    .execute();
}

export async function removeFactors(
  tx: Tx,
  principalId: string,
  method: MfaMethod,
  now: string,
  exceptId?: string,
) {
  let query = tx
    .updateTable('mfa_factors')
    .set({ status: 'removed', removed_at: now })
    .where('principal_id', '=', principalId)
    .where('method', '=', method)
    .where('status', '<>', 'removed');
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId);
  await query.execute();
}

/** Removes one factor by id. */
export async function markFactorRemoved(tx: Tx, id: string, now: string): Promise<void> {
  await tx
    .updateTable('mfa_factors')
    .set({ status: 'removed', removed_at: now })
    .where('id', '=', id)
    .execute();
}

/** A recovery code is spent exactly once: the conditional UPDATE settles races. */
export async function spendRecoveryCode(tx: Tx, factorId: string, now: string): Promise<boolean> {
  const result = await tx
    .updateTable('mfa_factors')
    .set({ used_at: now, status: 'removed', removed_at: now })
    .where('id', '=', factorId)
    .where('used_at', 'is', null)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Moves a passkey's sign counter forward only; a stale counter loses a race instead of winning it. */
export async function advanceSignCount(tx: Tx, factorId: string, from: number, to: number): Promise<boolean> {
  const result = await tx
    .updateTable('mfa_factors')
    .set({ sign_count: to })
    .where('id', '=', factorId)
    .where('sign_count', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Whether the principal ever had an authenticator or passkey activated (current, revoked by an epoch, or removed):
 * such an account enrols again only with proof beyond its password (services/identity/mfa-enrolment.ts).
 */
export async function everActivatedSecondFactor(on: Queryable, principalId: string): Promise<boolean> {
  const row = await queryable(on)
    .selectFrom('mfa_factors')
    .select('id')
    .where('principal_id', '=', principalId)
    .where('method', 'in', ['totp', 'passkey'])
    .where('activated_at', 'is not', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
