import { open, seal } from '../../adapters/secret-box.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { MAX_CONSECUTIVE_MFA_FAILURES, mfaLockDurationMs } from '../../core/identity/lockout.ts';
import { factorBinding, factorKeyFingerprint } from '../../core/mfa/factor-key.ts';
import { verifyAuthentication } from '../../core/mfa/passkey.ts';
import { parseAuthenticationResponse } from '../../core/mfa/passkey-response.ts';
import { hashRecoveryCode, normalizeRecoveryCode } from '../../core/mfa/recovery-codes.ts';
import { matchTotpStep } from '../../core/mfa/totp.ts';
import {
  advanceSignCount,
  currentFactors,
  type FactorRow,
  spendRecoveryCode,
} from '../../store/identity/factors.ts';
import { consumeOneTimeToken } from '../../store/identity/one-time-tokens.ts';
import {
  claimTotpStep,
  lockPrincipal,
  type Principal,
  type TotpClaimant,
  updatePrincipal,
} from '../../store/identity/principals.ts';
import type { MfaMethod } from '../../store/schema-identity.ts';
import type { Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';

/** A second factor as presented over the API. */
export type SecondFactorProof =
  | { readonly method: 'totp'; readonly code: string }
  | { readonly method: 'recovery_code'; readonly code: string }
  | { readonly method: 'passkey'; readonly challenge_id: string; readonly response: unknown };

export type FactorCheck =
  | {
      readonly ok: true;
      readonly method: SecondFactorProof['method'];
      readonly factorId: string;
      readonly evidence: Record<string, string | number>;
    }
  | { readonly ok: false; readonly error: DomainError };

/** Every `method` a proof may name (parseProof), as MFA_REQUIRED lists them. */
export const PROOF_METHODS: readonly SecondFactorProof['method'][] = ['totp', 'recovery_code', 'passkey'];

/** What the proof is for; a passkey challenge issued for one purpose is useless for another. */
export interface ProofPurpose {
  /** e.g. "login", "step_up:address_book.add", "withdrawal:<id>" */
  readonly name: string;
}

const SEALED_TOTP_AAD = 'drawbridge/totp-secret/v1';

export function totpAssociatedData(factorId: string): string {
  return `${SEALED_TOTP_AAD}:${factorId}`;
}

/**
 * A TOTP secret sealed for factor `factorId` of `principalId`, and the factor's binding (src/core/mfa/factor-key.ts):
 * what setFactorSecret stores.
 */
export function sealedTotpSecret(
  context: ServiceContext,
  factorId: string,
  principalId: string,
  secret: string,
): { sealed: string; binding: string } {
  return {
    sealed: seal(context.totpKey, Buffer.from(secret, 'utf8'), totpAssociatedData(factorId)),
    binding: factorBinding(context.totpKey, {
      id: factorId,
      principalId,
      method: 'totp',
      keySha256: factorKeyFingerprint({ method: 'totp', secretBase32: secret }),
    }),
  };
}

export function parseProof(input: unknown, field = 'proof'): SecondFactorProof {
  if (typeof input !== 'object' || input === null) throw invalidInput(field, 'must be an object');
  const proof = input as Record<string, unknown>;
  if (proof.method === 'totp' || proof.method === 'recovery_code') {
    if (typeof proof.code !== 'string' || proof.code.length > 64)
      throw invalidInput(`${field}.code`, 'must be a string of at most 64 characters');
    return { method: proof.method, code: proof.code };
  }
  if (proof.method === 'passkey') {
    if (typeof proof.challenge_id !== 'string' || proof.challenge_id.length > 64) {
      throw invalidInput(`${field}.challenge_id`, 'must be the challenge id you were given');
    }
    checkAssertionShape(proof.response, field);
    return { method: 'passkey', challenge_id: proof.challenge_id, response: proof.response };
  }
  throw invalidInput(`${field}.method`, `must be one of ${PROOF_METHODS.join(', ')}`);
}

// Said for every wrong proof, whichever factor was tried: a failure never tells which factor was wrong.
function wrongProof(): DomainError {
  return new DomainError('INVALID_CREDENTIALS', 'the credentials or second factor are not right');
}

/** The same TOTP code again, in its step, from the session (and IP address) that has just used it. */
function totpAlreadyUsed(): DomainError {
  return new DomainError('TOTP_ALREADY_USED', 'this code was just used; wait for the next one', {
    field: 'proof.code',
  });
}

/**
 * Checks a second factor inside the caller's transaction and returns the outcome, so the failure count the check
 * writes commits even though the request then fails. Five consecutive failures lock second factors for a growing
 * time and tell the customer. One refusal throws instead (TOTP_ALREADY_USED, rolling the caller's transaction
 * back): the code the same session used a moment ago, typed again within its step, which is no failure and no
 * alarm, and leaves nothing to commit.
 */
export async function checkSecondFactor(
  tx: Tx,
  context: ServiceContext,
  principalId: string,
  proof: SecondFactorProof,
  purpose: ProofPurpose,
  meta: RequestMeta | undefined,
  /** The principal's row, when the caller already read it with lockPrincipal(Query) in this transaction. */
  locked?: Principal,
  /** The principal's current factors of the proof's method (`factorReads(..., factorMethodOf(proof))`), when the
   * caller read them with its own reads after `locked`. */
  factors?: readonly FactorRow[],
): Promise<FactorCheck> {
  const now = context.clock.now();
  // Locked first: parallel wrong proofs otherwise each read the same failure count and the lock never comes.
  const principal = locked?.id === principalId ? locked : await lockPrincipal(tx, principalId);
  if (principal === undefined) return { ok: false, error: wrongProof() };
  if (principal.mfa_locked_until !== null && principal.mfa_locked_until > now.toISOString()) {
    return {
      ok: false,
      error: new DomainError('MFA_LOCKED', 'too many wrong second factors; try again later', {
        details: { locked_until: principal.mfa_locked_until },
      }),
    };
  }
  // Prefetched factors count only with the row they were read for.
  const ofMethod = async () =>
    factors !== undefined && principal === locked
      ? factors
      : currentFactors(tx, principal, factorMethodOf(proof));
  const claimant: TotpClaimant = { sessionId: meta?.sessionId ?? null, ip: meta?.ip ?? null };
  const outcome = await verifyProof(tx, context, principal, proof, purpose, now, ofMethod, claimant);
  if (!outcome.ok && outcome.reason === 'totp_already_used_here') throw totpAlreadyUsed();
  if (outcome.ok) {
    if (principal.mfa_failures !== 0) await updatePrincipal(tx, principal.id, { mfa_failures: 0 });
    return outcome;
  }
  await recordFailure(tx, context, principal, outcome.reason, meta);
  return { ok: false, error: wrongProof() };
}

type Verified = {
  ok: true;
  method: SecondFactorProof['method'];
  factorId: string;
  evidence: Record<string, string | number>;
};
type Refused = { ok: false; reason: string };

/** The kind of factor a proof is checked against. */
export function factorMethodOf(proof: SecondFactorProof): MfaMethod {
  return proof.method === 'recovery_code' ? 'recovery' : proof.method;
}

async function verifyProof(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  proof: SecondFactorProof,
  purpose: ProofPurpose,
  now: Date,
  /** The principal's current factors of the proof's method. */
  factorsOfMethod: () => Promise<readonly FactorRow[]>,
  claimant: TotpClaimant,
): Promise<Verified | Refused> {
  if (proof.method === 'totp') {
    const [factor] = await factorsOfMethod();
    if (factor === undefined || factor.secret === null) return { ok: false, reason: 'no_totp' };
    const secret = open(context.totpKey, factor.secret, totpAssociatedData(factor.id)).toString('utf8');
    const step = matchTotpStep(secret, proof.code, now);
    if (step === null) return { ok: false, reason: 'wrong_totp' };
    // A step is accepted at most once per account, whatever it was used for.
    const claim = { purpose: purpose.name, factorId: factor.id, at: now.toISOString() };
    if (!(await claimTotpStep(tx, principal.id, step, claimant, claim))) {
      return {
        ok: false,
        reason: claimedLastBy(principal, step, claimant) ? 'totp_already_used_here' : 'replayed_totp',
      };
    }
    // The code itself: single-use and spent now, it gives nothing away, and an independent verifier (the monitor)
    // can recompute it from the secret at this step.
    return { ok: true, method: 'totp', factorId: factor.id, evidence: { step, code: proof.code } };
  }
  if (proof.method === 'recovery_code') {
    const normalized = normalizeRecoveryCode(proof.code);
    if (normalized === null) return { ok: false, reason: 'malformed_recovery_code' };
    const codeHash = hashRecoveryCode(normalized);
    const factor = (await factorsOfMethod()).find((f) => f.code_hash === codeHash);
    if (factor === undefined || !(await spendRecoveryCode(tx, factor.id, now.toISOString()))) {
      return { ok: false, reason: 'wrong_recovery_code' };
    }
    // The code itself, as for TOTP: spent now, it gives nothing away, and the monitor hashes it on its own (a
    // hash alone could be copied from the factor table by anyone who can read it).
    return { ok: true, method: 'recovery_code', factorId: factor.id, evidence: { code: normalized } };
  }
  return verifyPasskeyProof(tx, context, principal, proof, purpose, now, factorsOfMethod);
}

/**
 * Whether `step` is the last one claimed and `by` claimed it: the same session, from the same IP address, as the
 * principal's row (locked in this transaction) records. Outside a session nothing is "the same".
 */
function claimedLastBy(principal: Principal, step: number, by: TotpClaimant): boolean {
  return (
    Number(principal.last_totp_step) === step &&
    by.sessionId !== null &&
    principal.totp_last_step_session === by.sessionId &&
    by.ip !== null &&
    principal.totp_last_step_ip === by.ip
  );
}

async function verifyPasskeyProof(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  proof: Extract<SecondFactorProof, { method: 'passkey' }>,
  purpose: ProofPurpose,
  now: Date,
  factorsOfMethod: () => Promise<readonly FactorRow[]>,
): Promise<Verified | Refused> {
  const challenge = await consumeOneTimeToken(tx, proof.challenge_id, `webauthn:${purpose.name}`, now);
  if (!challenge.ok || challenge.row.principal_id !== principal.id)
    return { ok: false, reason: `challenge_${challenge.ok ? 'other_account' : challenge.reason}` };
  const expectedChallenge = String((JSON.parse(challenge.row.data) as { challenge: string }).challenge);
  const credentialId = (proof.response as { id?: unknown } | null)?.id;
  const factor: FactorRow | undefined = (await factorsOfMethod()).find(
    (f) => typeof credentialId === 'string' && f.credential_id === credentialId,
  );
  if (factor === undefined || factor.public_key === null || factor.credential_id === null) {
    return { ok: false, reason: 'unknown_passkey' };
  }
  const stored = Number(factor.sign_count);
  try {
    const { newCounter } = await verifyAuthentication({
      response: proof.response,
      expectedChallenge,
      rp: context.settings.relyingParty,
      credential: { id: factor.credential_id, publicKey: factor.public_key, counter: stored },
    });
    if (!(await advanceSignCount(tx, factor.id, stored, newCounter)))
      return { ok: false, reason: 'passkey_counter_race' };
    return {
      ok: true,
      method: 'passkey',
      factorId: factor.id,
      evidence: { challenge: expectedChallenge, sign_count: newCounter },
    };
  } catch (error) {
    if (error instanceof DomainError) return { ok: false, reason: `passkey_${error.code.toLowerCase()}` };
    throw error;
  }
}

async function recordFailure(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  reason: string,
  meta: RequestMeta | undefined,
) {
  const now = context.clock.now();
  const failures = principal.mfa_failures + 1;
  await audit(tx, context, {
    actor: `${principal.kind}:${principal.id}`,
    action: reason === 'replayed_totp' ? 'mfa.totp_replay_refused' : 'mfa.failed',
    subject: `${principal.kind}:${principal.id}`,
    data: { reason, consecutive_failures: failures, ip: meta?.ip ?? null },
  });
  if (reason === 'replayed_totp') {
    await notifyPrincipal(tx, context, principal, {
      event: 'mfa.totp_replay_refused',
      headline: 'An already-used authenticator code was presented again',
      lines: [
        'Someone presented a code from your authenticator app that had already been used. It was refused.',
        'If you did not just sign in or confirm something twice, your code may have been seen by someone else.',
      ],
      meta,
    });
  }
  if (failures < MAX_CONSECUTIVE_MFA_FAILURES) {
    await updatePrincipal(tx, principal.id, { mfa_failures: failures });
    return;
  }
  const lockNumber = principal.mfa_lock_count + 1;
  const lockedUntil = new Date(now.getTime() + mfaLockDurationMs(lockNumber)).toISOString();
  await updatePrincipal(tx, principal.id, {
    mfa_failures: 0,
    mfa_lock_count: lockNumber,
    mfa_locked_until: lockedUntil,
  });
  await audit(tx, context, {
    actor: 'system:identity',
    action: 'mfa.locked',
    subject: `${principal.kind}:${principal.id}`,
    data: { locked_until: lockedUntil, lock_number: lockNumber },
  });
  await notifyPrincipal(tx, context, principal, {
    event: 'mfa.locked',
    headline: 'Second-factor checks locked after repeated failures',
    lines: [
      `${MAX_CONSECUTIVE_MFA_FAILURES} wrong second factors in a row were presented for your account.`,
      `Second-factor checks are locked until ${lockedUntil}.`,
    ],
    meta,
  });
}

/**
 * A malformed WebAuthn response is bad input (400 naming the field), not a wrong second factor: refused before a
 * challenge is spent or a failure counted, so it changes nothing.
 */
function checkAssertionShape(response: unknown, field: string): void {
  try {
    parseAuthenticationResponse(response);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'INVALID_INPUT' && error.field !== undefined) {
      throw invalidInput(`${field}.${error.field.replaceAll('/', '.')}`, error.message);
    }
    throw error;
  }
}
