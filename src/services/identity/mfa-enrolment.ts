import { open } from '../../adapters/secret-box.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { factorBinding, factorKeyFingerprint } from '../../core/mfa/factor-key.ts';
import { registrationOptions, verifyRegistration } from '../../core/mfa/passkey.ts';
import { newChallenge } from '../../core/mfa/passkey-challenge.ts';
import { hashRecoveryCode, newRecoveryCodes } from '../../core/mfa/recovery-codes.ts';
import { matchTotpStep, newTotpSecret, totpQrSvg, totpUri } from '../../core/mfa/totp.ts';
import {
  activateFactor,
  currentFactors,
  everActivatedSecondFactor,
  findFactor,
  insertFactor,
  isCredentialRegistered,
  markFactorRemoved,
  removeFactors,
  setFactorSecret,
} from '../../store/identity/factors.ts';
import { consumeOneTimeToken, issueOneTimeToken } from '../../store/identity/one-time-tokens.ts';
import { claimTotpStep, findPrincipal, type Principal } from '../../store/identity/principals.ts';
import { inTransaction, type Queryable, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';
import { enforceRateLimits } from './rate-limit.ts';
import { sealedTotpSecret, totpAssociatedData } from './second-factor.ts';
import { startSecurityChangeLock } from './security-lock.ts';
import { type Authenticated, raiseToAal2 } from './sessions.ts';
import { consumeStepUp, PASSKEY_CHALLENGE_TTL_MS } from './step-up.ts';

async function principalOf(tx: Queryable, auth: Authenticated): Promise<Principal> {
  const principal = await findPrincipal(tx, auth.principalId);
  if (principal === undefined) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
  return principal;
}

/** What a re-enrolment link's token is for (one_time_tokens.purpose). */
export const REENROLMENT_PURPOSE = 'mfa_reenrol';
export const REENROLMENT_LINK_TTL_MS = 30 * 60_000;

/** What an enrolment may carry to prove it is the account's owner. */
export interface EnrolmentProof {
  readonly step_up_token?: unknown;
  readonly reenrolment_token?: unknown;
}

/**
 * Who may enrol a factor:
 * - with an authenticator or passkey already active: a step-up proof for "mfa.enroll";
 * - an account that never had one (its very first enrolment): the signed-in session alone;
 * - an account that had one and has none now (a mass MFA revocation, an operator's, a removal): the password
 *   alone is not enough, since a phished password is exactly what an attacker holds after an incident. It needs
 *   the single-use token of the link sent to its verified email (`reenrolment_token`), or a step-up proof made
 *   with one of its recovery codes when those still count.
 */
async function requireEnrolmentStepUp(
  tx: Tx,
  context: ServiceContext,
  auth: Authenticated,
  principal: Principal,
  proof: EnrolmentProof,
) {
  const existing = await currentFactors(tx, principal);
  if (existing.some((f) => f.method !== 'recovery')) {
    await consumeStepUp(tx, context, auth, 'mfa.enroll', proof.step_up_token);
    return;
  }
  if (!(await everActivatedSecondFactor(tx, principal.id))) return;
  if (proof.reenrolment_token !== undefined) {
    const token = proof.reenrolment_token;
    const consumed =
      typeof token === 'string' && token.length <= 128
        ? await consumeOneTimeToken(tx, token, REENROLMENT_PURPOSE, context.clock.now())
        : undefined;
    if (consumed === undefined || !consumed.ok || consumed.row.principal_id !== principal.id)
      throw invalidInput(
        'reenrolment_token',
        'is not a valid re-enrolment link (expired, used or not yours)',
      );
    return;
  }
  if (existing.length > 0 && proof.step_up_token !== undefined) {
    await consumeStepUp(tx, context, auth, 'mfa.enroll', proof.step_up_token);
    return;
  }
  throw new DomainError(
    'REENROLMENT_REQUIRED',
    'your second factor was revoked: enrol again with the link sent to your email (POST /v1/mfa/reenrolment-link), or a step-up with a recovery code',
    { field: 'reenrolment_token' },
  );
}

/**
 * Sends the account's verified email a single-use link (30 min) to enrol a second factor again, for an account
 * whose factors were revoked. Whoever holds only the password never sees it.
 */
export async function sendReenrolmentLink(context: ServiceContext, auth: Authenticated, meta: RequestMeta) {
  await enforceRateLimits(context, [['mfa_per_account', auth.principalId]]);
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    if (principal.email_verified_at === null)
      throw new DomainError('EMAIL_NOT_VERIFIED', 'confirm your email address first');
    const existing = await currentFactors(tx, principal);
    if (existing.some((f) => f.method !== 'recovery') || !(await everActivatedSecondFactor(tx, principal.id)))
      throw new DomainError('WRONG_STATE', 'this account can enrol without a link', {
        details: { reenrolment: 'not_needed' },
      });
    const issued = await issueOneTimeToken(tx, {
      principalId: principal.id,
      purpose: REENROLMENT_PURPOSE,
      data: {},
      now: context.clock.now(),
      ttlMs: REENROLMENT_LINK_TTL_MS,
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'mfa.reenrolment_link',
      headline: 'Enrol your second factor again',
      lines: [
        'Your second factor was revoked for your protection. Follow the link within 30 minutes to enrol an authenticator app or a passkey again.',
        `Re-enrolment code (if asked): ${issued.token}`,
        'If you did not ask for this, someone may know your password: lock your account with the link below.',
      ],
      actionUrl: {
        label: 'Enrol my second factor',
        url: `${context.settings.publicUrl}/mfa/re-enrol?token=${issued.token}`,
      },
      meta,
      security: true,
    });
    await audit(tx, context, {
      actor: `${principal.kind}:${principal.id}`,
      action: 'mfa.reenrolment_link_sent',
      subject: `${principal.kind}:${principal.id}`,
      data: { expires_at: issued.row.expires_at, ip: meta.ip ?? null },
    });
    return { sent: true as const, expires_at: issued.row.expires_at };
  });
}

export async function startTotpEnrolment(
  context: ServiceContext,
  auth: Authenticated,
  input: { label?: unknown } & EnrolmentProof,
) {
  const label = parseLabel(input.label, 'Authenticator app');
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    await requireEnrolmentStepUp(tx, context, auth, principal, input);
    const secret = newTotpSecret();
    const factor = await insertFactor(
      tx,
      principal,
      { principal_id: principal.id, method: 'totp', status: 'pending', label },
      context.clock.now().toISOString(),
    );
    const { sealed, binding } = sealedTotpSecret(context, factor.id, principal.id, secret);
    await setFactorSecret(tx, factor.id, sealed, binding);
    const uri = totpUri({ secretBase32: secret, label: principal.email });
    return { factor_id: factor.id, otpauth_uri: uri, qr_svg: await totpQrSvg(uri) };
  });
}

/** Activating needs one valid code from the new secret; it replaces any older TOTP and starts the security lock. */
export async function confirmTotpEnrolment(
  context: ServiceContext,
  auth: Authenticated,
  factorId: string,
  input: { code?: unknown },
  meta: RequestMeta,
) {
  if (typeof input.code !== 'string' || input.code.length > 16)
    throw invalidInput('code', 'must be the 6-digit code from your app');
  const code = input.code;
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    const factor = await findFactor(tx, principal.id, factorId);
    if (
      factor === undefined ||
      factor.method !== 'totp' ||
      factor.status !== 'pending' ||
      factor.secret === null
    ) {
      throw new DomainError('NOT_FOUND', `no pending authenticator enrolment ${factorId}`);
    }
    const now = context.clock.now();
    const secret = open(context.totpKey, factor.secret, totpAssociatedData(factor.id)).toString('utf8');
    const step = matchTotpStep(secret, code, now);
    if (
      step === null ||
      !(await claimTotpStep(
        tx,
        principal.id,
        step,
        { sessionId: auth.sessionId, ip: meta.ip },
        { purpose: `enrol:${factor.id}`, factorId: factor.id, at: now.toISOString() },
      ))
    ) {
      throw new DomainError('INVALID_INPUT', 'the code does not match; check the time on your device', {
        field: 'code',
      });
    }
    await removeFactors(tx, principal.id, 'totp', now.toISOString(), factor.id);
    await activateFactor(tx, principal, factor.id, now.toISOString());
    const recoveryCodes = await replaceRecoveryCodesIfNone(tx, context, principal);
    await raiseToAal2(tx, auth.sessionId);
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      principal,
      {
        event: 'mfa.totp_enrolled',
        headline: 'An authenticator app was added to your account',
        data: {
          factor_id: factor.id,
          key_sha256: factorKeyFingerprint({ method: 'totp', secretBase32: secret }),
        },
      },
      meta,
    );
    return {
      factor_id: factor.id,
      status: 'active' as const,
      recovery_codes: recoveryCodes,
      withdrawals_locked_until: lockedUntil,
    };
  });
}

async function replaceRecoveryCodesIfNone(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
): Promise<string[] | undefined> {
  const existing = await currentFactors(tx, principal, 'recovery');
  if (existing.length > 0) return undefined;
  return writeRecoveryCodes(tx, context, principal);
}

async function writeRecoveryCodes(tx: Tx, context: ServiceContext, principal: Principal): Promise<string[]> {
  const now = context.clock.now().toISOString();
  await removeFactors(tx, principal.id, 'recovery', now);
  const codes = newRecoveryCodes();
  const issued: { factor_id: string; key_sha256: string }[] = [];
  for (const code of codes) {
    const codeHash = hashRecoveryCode(code);
    const id = newId();
    const keySha256 = factorKeyFingerprint({ method: 'recovery', codeHash });
    const factor = await insertFactor(
      tx,
      principal,
      {
        id,
        binding: factorBinding(context.totpKey, {
          id,
          principalId: principal.id,
          method: 'recovery',
          keySha256,
        }),
        principal_id: principal.id,
        method: 'recovery',
        status: 'active',
        label: 'Recovery code',
        code_hash: codeHash,
        activated_at: now,
      },
      now,
    );
    issued.push({ factor_id: factor.id, key_sha256: keySha256 });
  }
  // Each code's factor id and fingerprint, as for the other factors: a hash swapped in later is seen.
  await audit(tx, context, {
    actor: `${principal.kind}:${principal.id}`,
    action: 'mfa.recovery_codes_issued',
    subject: `${principal.kind}:${principal.id}`,
    data: { factors: issued },
  });
  return codes;
}

export async function regenerateRecoveryCodes(
  context: ServiceContext,
  auth: Authenticated,
  input: { step_up_token?: unknown },
  meta: RequestMeta,
) {
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    await consumeStepUp(tx, context, auth, 'recovery_codes.regenerate', input.step_up_token);
    const codes = await writeRecoveryCodes(tx, context, principal);
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      principal,
      { event: 'mfa.recovery_codes_regenerated', headline: 'New recovery codes were generated' },
      meta,
    );
    return { recovery_codes: codes, withdrawals_locked_until: lockedUntil };
  });
}

export async function passkeyRegistrationOptions(
  context: ServiceContext,
  auth: Authenticated,
  input: EnrolmentProof,
) {
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    await requireEnrolmentStepUp(tx, context, auth, principal, input);
    const challenge = newChallenge();
    const issued = await issueOneTimeToken(tx, {
      principalId: principal.id,
      purpose: 'webauthn:register',
      data: { challenge },
      now: context.clock.now(),
      ttlMs: PASSKEY_CHALLENGE_TTL_MS,
    });
    const passkeys = await currentFactors(tx, principal, 'passkey');
    const options = await registrationOptions({
      rp: context.settings.relyingParty,
      userId: principal.id,
      userName: principal.email,
      excludeCredentialIds: passkeys.flatMap((p) => (p.credential_id === null ? [] : [p.credential_id])),
      challenge,
    });
    return { challenge_id: issued.token, expires_at: issued.row.expires_at, options };
  });
}

export async function registerPasskey(
  context: ServiceContext,
  auth: Authenticated,
  input: { challenge_id?: unknown; response?: unknown; label?: unknown },
  meta: RequestMeta,
) {
  const label = parseLabel(input.label, 'Passkey');
  if (typeof input.challenge_id !== 'string' || input.challenge_id.length > 64)
    throw invalidInput('challenge_id', 'must be the challenge id you were given');
  const challengeId = input.challenge_id;
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    const now = context.clock.now();
    const consumed = await consumeOneTimeToken(tx, challengeId, 'webauthn:register', now);
    if (!consumed.ok || consumed.row.principal_id !== principal.id)
      throw invalidInput(
        'challenge_id',
        'the registration challenge is not valid (expired, used or unknown)',
      );
    const { challenge } = JSON.parse(consumed.row.data) as { challenge: string };
    const registered = await verifyRegistration({
      response: input.response,
      expectedChallenge: challenge,
      rp: context.settings.relyingParty,
    });
    if (await isCredentialRegistered(tx, registered.credentialId))
      throw new DomainError('ALREADY_EXISTS', 'this passkey is already registered', { field: 'response.id' });
    const factorId = newId();
    const passkeySha256 = factorKeyFingerprint({
      method: 'passkey',
      publicKeyBase64url: registered.publicKey,
    });
    const factor = await insertFactor(
      tx,
      principal,
      {
        id: factorId,
        binding: factorBinding(context.totpKey, {
          id: factorId,
          principalId: principal.id,
          method: 'passkey',
          keySha256: passkeySha256,
        }),
        principal_id: principal.id,
        method: 'passkey',
        status: 'active',
        label,
        credential_id: registered.credentialId,
        public_key: registered.publicKey,
        sign_count: registered.counter,
        activated_at: now.toISOString(),
      },
      now.toISOString(),
    );
    const recoveryCodes = await replaceRecoveryCodesIfNone(tx, context, principal);
    await raiseToAal2(tx, auth.sessionId);
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      principal,
      {
        event: 'mfa.passkey_registered',
        headline: 'A passkey was added to your account',
        data: {
          factor_id: factor.id,
          key_sha256: passkeySha256,
        },
      },
      meta,
    );
    return {
      factor_id: factor.id,
      status: 'active' as const,
      recovery_codes: recoveryCodes,
      withdrawals_locked_until: lockedUntil,
    };
  });
}

export async function listFactors(context: ServiceContext, auth: Authenticated) {
  const principal = await principalOf(context.database, auth);
  const factors = await currentFactors(context.database, principal);
  return {
    factors: factors
      .filter((f) => f.method !== 'recovery')
      .map((f) => ({ id: f.id, method: f.method, label: f.label, activated_at: f.activated_at })),
    recovery_codes_left: factors.filter((f) => f.method === 'recovery').length,
  };
}

export async function removeFactor(
  context: ServiceContext,
  auth: Authenticated,
  factorId: string,
  input: { step_up_token?: unknown },
  meta: RequestMeta,
) {
  return inTransaction(context.database, async (tx) => {
    const principal = await principalOf(tx, auth);
    await consumeStepUp(tx, context, auth, 'mfa.remove', input.step_up_token);
    const factor = await findFactor(tx, principal.id, factorId);
    if (factor === undefined || factor.status !== 'active' || factor.method === 'recovery')
      throw new DomainError('NOT_FOUND', `no active factor ${factorId}`);
    const now = context.clock.now().toISOString();
    await markFactorRemoved(tx, factor.id, now);
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      principal,
      {
        event: 'mfa.factor_removed',
        headline: `A second factor (${factor.method}) was removed from your account`,
      },
      meta,
    );
    return { factor_id: factor.id, status: 'removed' as const, withdrawals_locked_until: lockedUntil };
  });
}

function parseLabel(input: unknown, fallback: string): string {
  if (input === undefined) return fallback;
  if (typeof input !== 'string' || input.length < 1 || input.length > 64)
    throw invalidInput('label', 'must be 1..64 characters');
  return input;
}
