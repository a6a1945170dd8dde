import type { DeviceReport } from '../../adapters/device-attestation.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { normalizeEmail } from '../../core/identity/email.ts';
import { checkPresentedPassword } from '../../core/identity/password.ts';
import { recordDevice } from '../../store/identity/devices.ts';
import { currentFactors } from '../../store/identity/factors.ts';
import {
  findPrincipalByEmail,
  type Principal,
  recordTotpStepSession,
} from '../../store/identity/principals.ts';
import { settingAt } from '../../store/identity/settings-history.ts';
import type { MfaMethod, PrincipalKind } from '../../store/schema-identity.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';
import { verifyPassword } from './passwords.ts';
import { enforceRateLimits } from './rate-limit.ts';
import { checkSecondFactor, PROOF_METHODS, parseProof, type SecondFactorProof } from './second-factor.ts';
import { type IssuedSession, issueSession } from './sessions.ts';
import { MFA_POLICY_SETTING_PREFIX } from './signup.ts';

export interface LoginInput {
  readonly email: unknown;
  readonly password: unknown;
  readonly proof?: unknown;
}

function invalidCredentials(): DomainError {
  return new DomainError('INVALID_CREDENTIALS', 'the credentials or second factor are not right');
}

export function parseDeviceReport(input: unknown): DeviceReport | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null) throw invalidInput('device', 'must be an object');
  const device = input as Record<string, unknown>;
  if (typeof device.id !== 'string' || !/^[A-Za-z0-9._:-]{8,128}$/.test(device.id)) {
    throw invalidInput('device.id', 'must be 8..128 characters of letters, digits, ".", "_", ":" or "-"');
  }
  if (typeof device.platform !== 'string' || device.platform.length < 1 || device.platform.length > 64) {
    throw invalidInput('device.platform', 'must be a string of 1..64 characters');
  }
  if (device.jailbroken !== undefined && typeof device.jailbroken !== 'boolean') {
    throw invalidInput('device.jailbroken', 'must be a boolean');
  }
  return { id: device.id, platform: device.platform, jailbroken: device.jailbroken as boolean | undefined };
}

/**
 * Password, then (when the customer's policy asks for it) a second factor, in one request. Whatever part is
 * wrong, the answer is the same INVALID_CREDENTIALS; MFA_REQUIRED is only said after a right password with no
 * proof, as every major provider does, and the per-account rate limit bounds what that reveals.
 */
export async function login(
  context: ServiceContext,
  kind: PrincipalKind,
  input: LoginInput,
  meta: RequestMeta,
): Promise<IssuedSession> {
  const email = normalizeEmail(input.email);
  const password = checkPresentedPassword(input.password);
  const proof: SecondFactorProof | undefined =
    input.proof === undefined ? undefined : parseProof(input.proof);
  await enforceRateLimits(context, [
    ['login_per_ip', meta.ip],
    ['login_per_account', `${kind}:${email}`],
  ]);
  const principal = await findPrincipalByEmail(context.database, kind, email);
  const passwordOk = await verifyPassword(principal?.password_hash, password);
  if (principal === undefined || !passwordOk) {
    if (principal !== undefined) {
      await inTransaction(context.database, (tx) =>
        audit(tx, context, {
          actor: 'anonymous',
          action: 'login.failed',
          subject: `${kind}:${principal.id}`,
          data: { ip: meta.ip, reason: 'password' },
        }),
      );
    }
    throw invalidCredentials();
  }
  if (principal.locked_at !== null)
    throw new DomainError('ACCOUNT_LOCKED', 'the account is locked; contact support');
  if (principal.email_verified_at === null) {
    throw new DomainError('EMAIL_NOT_VERIFIED', 'confirm your email address first (see the link we sent)');
  }
  if (proof !== undefined)
    await enforceRateLimits(context, [
      ['mfa_per_ip', meta.ip],
      ['mfa_per_account', principal.id],
    ]);

  const outcome = await inTransaction(context.database, async (tx) => {
    const factors = await currentFactors(tx, principal);
    const needsMfa =
      kind === 'operator' ||
      (factors.length > 0 && (await loginPolicyRequiresMfa(tx, principal, context.clock.now())));
    let aal: 1 | 2 = 1;
    let totpStep: number | undefined;
    if (proof !== undefined) {
      const check = await checkSecondFactor(tx, context, principal.id, proof, { name: 'login' }, meta);
      if (!check.ok) return { error: check.error, session: undefined };
      aal = 2;
      if (check.method === 'totp') totpStep = Number(check.evidence.step);
    } else if (needsMfa) {
      return {
        error: new DomainError('MFA_REQUIRED', 'a second factor is required to sign in', {
          details: { methods: proofMethodsOf(factors.map((f) => f.method)) },
        }),
        session: undefined,
      };
    }
    const deviceId = await recordLoginDevice(tx, context, principal, meta);
    const session = await issueSession(tx, context, principal, aal, deviceId, meta);
    // The code was claimed before the session existed: the session it opened is its claimant, so the same code
    // typed again in it (a withdrawal confirmed within the same 30 s) is told apart from a replay.
    if (totpStep !== undefined) await recordTotpStepSession(tx, principal.id, totpStep, session.sessionId);
    await audit(tx, context, {
      actor: `${kind}:${principal.id}`,
      action: 'login.succeeded',
      subject: `session:${session.sessionId}`,
      data: { aal, ip: meta.ip, device_id: deviceId },
    });
    return { session, error: undefined };
  });
  if (outcome.error !== undefined) {
    // The failure count was committed above; the caller sees no difference between a wrong password and a
    // wrong second factor.
    throw outcome.error.code === 'MFA_LOCKED' || outcome.error.code === 'MFA_REQUIRED'
      ? outcome.error
      : invalidCredentials();
  }
  return outcome.session;
}

/** The `proof.method` values that the customer's factors answer to, in the order the proof parser lists them. */
function proofMethodsOf(methods: readonly MfaMethod[]): SecondFactorProof['method'][] {
  const present = new Set(methods.map((m) => (m === 'recovery' ? 'recovery_code' : m)));
  return PROOF_METHODS.filter((m) => present.has(m));
}

async function loginPolicyRequiresMfa(tx: Tx, principal: Principal, now: Date): Promise<boolean> {
  const policy = await settingAt(tx, principal.id, `${MFA_POLICY_SETTING_PREFIX}login`, now.toISOString());
  return policy?.value !== 'optional';
}

async function recordLoginDevice(tx: Tx, context: ServiceContext, principal: Principal, meta: RequestMeta) {
  if (meta.device === undefined) return null;
  const integrity = await context.deviceAttestation.assess(meta.device);
  const { device, isNew } = await recordDevice(tx, {
    principalId: principal.id,
    deviceKey: meta.device.id,
    userAgent: meta.userAgent.slice(0, 512),
    platform: meta.device.platform,
    integrity: integrity.integrity,
    integritySource: integrity.source,
    at: context.clock.now().toISOString(),
  });
  if (isNew) {
    await audit(tx, context, {
      actor: `${principal.kind}:${principal.id}`,
      action: 'device.new',
      subject: `device:${device.id}`,
      data: {
        platform: device.platform,
        integrity: device.integrity,
        integrity_source: device.integrity_source,
      },
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'device.new',
      headline: 'New sign-in from a device we have not seen before',
      lines: [`Platform: ${device.platform}. Integrity: ${device.integrity} (${device.integrity_source}).`],
      meta,
    });
  }
  return device.id;
}
