import { newId } from '../../core/ids.ts';
import type { MfaFactorsTable, MfaMethod } from '../schema-identity.ts';
import { type Reads, readTogether, type Tx } from '../transaction.ts';
import { epochsQuery, methodEpoch, readEpochs, type SecurityEpochs } from './epochs.ts';
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

export async function currentFactors(tx: Tx, principal: Principal, method?: MfaMethod): Promise<FactorRow[]> {
  const [factors] = await readTogether(tx, factorReads(tx, principal, method));
  return factors;
}

/** currentFactors' reads, for a caller that sends them with its own (store/transaction.ts `readTogether`). */
export function factorReads(tx: Tx, principal: Principal, method?: MfaMethod): Reads<FactorRow[]> {
  // The epochs and the factors in one round trip: the global epoch is compared inside the statement.
  let query = tx
    .selectFrom('mfa_factors')
    .selectAll()
    .where('principal_id', '=', principal.id)
    .where('status', '=', 'active')
    .where('principal_epoch', '=', principal.mfa_epoch);
  if (principal.kind === 'customer')
    query = query.where('global_epoch', '=', (eb) =>
      eb.selectFrom('security_epochs').select('mfa_epoch').where('id', '=', 1),
    );
  if (method !== undefined) query = query.where('method', '=', method);
  return {
    statements: [epochsQuery(tx), query.orderBy('created_at').limit(100)],
    decode: ([epochRows, factorRows]) => {
      const epochs = epochRows?.rows[0] as SecurityEpochs | undefined;
      if (epochs === undefined) throw new Error('the security epochs row is missing');
      return ((factorRows?.rows ?? []) as FactorRow[]).filter((row) =>
        factorIsCurrent(row, epochs, principal),
      );
    },
  };
}

export type NewFactor = Pick<MfaFactorsTable, 'principal_id' | 'method' | 'status' | 'label'> &
  Partial<Pick<MfaFactorsTable, 'secret' | 'credential_id' | 'public_key' | 'code_hash' | 'activated_at'>> & {
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
    id: newId(),
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
