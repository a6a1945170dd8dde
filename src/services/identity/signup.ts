import { DomainError } from '../../core/errors.ts';
import { MFA_POLICY_ACTIONS } from '../../core/identity/actions.ts';
import { normalizeEmail } from '../../core/identity/email.ts';
import { checkNewPassword } from '../../core/identity/password.ts';
import {
  consumeOneTimeToken,
  issueOneTimeToken,
  revokeOneTimeTokens,
} from '../../store/identity/one-time-tokens.ts';
import {
  findPrincipal,
  findPrincipalByEmail,
  insertPrincipal,
  type Principal,
  updatePrincipal,
} from '../../store/identity/principals.ts';
import { recordSetting } from '../../store/identity/settings-history.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';
import { hashPassword } from './passwords.ts';
import { enforceRateLimits } from './rate-limit.ts';

export const EMAIL_VERIFICATION_TTL_MS = 24 * 60 * 60_000;
export const MFA_POLICY_SETTING_PREFIX = 'mfa_policy:';
const VERIFY_EMAIL_PURPOSE = 'verify_email';

/**
 * Creates a customer and emails a verification link. The answer is the same whether or not the email was
 * already registered (the owner of a verified account is told instead; an unverified one gets a fresh link),
 * so sign-up cannot enumerate accounts.
 */
export async function signUp(
  context: ServiceContext,
  input: { email: unknown; password: unknown },
  meta: RequestMeta,
): Promise<{ status: 'verification_sent' }> {
  const email = normalizeEmail(input.email);
  const password = checkNewPassword(input.password);
  await enforceRateLimits(context, [['signup_per_ip', meta.ip]]);
  const passwordHash = await hashPassword(password);
  await inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const existing = await findPrincipalByEmail(tx, 'customer', email);
    if (existing !== undefined && existing.email_verified_at !== null) {
      await notifyPrincipal(tx, context, existing, {
        event: 'account.signup_attempt',
        headline: 'Someone tried to sign up with your email address',
        lines: ['You already have an account; nothing was changed. If this was you, sign in instead.'],
        meta,
      });
      return;
    }
    if (existing !== undefined) {
      // Nobody has proven this address yet, so the account is nobody's: whoever signs up last sets the password
      // and only the newest link verifies. Otherwise a stranger who signed up first with someone else's address
      // (or an owner whose link expired) would keep the address from ever being used.
      await updatePrincipal(tx, existing.id, { password_hash: passwordHash });
      await revokeOneTimeTokens(tx, existing.id, VERIFY_EMAIL_PURPOSE, now);
      await sendVerification(tx, context, existing, email, meta);
      await audit(tx, context, {
        actor: 'anonymous',
        action: 'account.signup_repeated',
        subject: `customer:${existing.id}`,
        data: { ip: meta.ip },
      });
      return;
    }
    const principal = await insertPrincipal(tx, {
      kind: 'customer',
      email,
      passwordHash,
      role: null,
      now: now.toISOString(),
    });
    // The policy starts at its safest: a second factor for every action type, recorded with its time.
    for (const action of MFA_POLICY_ACTIONS) {
      await recordSetting(tx, {
        principalId: principal.id,
        setting: `${MFA_POLICY_SETTING_PREFIX}${action}`,
        value: 'required',
        effectiveAt: now.toISOString(),
      });
    }
    await sendVerification(tx, context, principal, email, meta);
    await audit(tx, context, {
      actor: `customer:${principal.id}`,
      action: 'account.signed_up',
      subject: `customer:${principal.id}`,
      data: { ip: meta.ip },
    });
  });
  return { status: 'verification_sent' };
}

async function sendVerification(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  email: string,
  meta: RequestMeta,
): Promise<void> {
  const verification = await issueOneTimeToken(tx, {
    principalId: principal.id,
    purpose: VERIFY_EMAIL_PURPOSE,
    data: { email },
    now: context.clock.now(),
    ttlMs: EMAIL_VERIFICATION_TTL_MS,
  });
  await notifyPrincipal(tx, context, principal, {
    event: 'account.verify_email',
    headline: 'Confirm your email address',
    lines: [
      'Follow the link below to confirm this address and finish creating your Drawbridge account.',
      `Verification code (if asked): ${verification.token}`,
    ],
    actionUrl: {
      label: 'Confirm my email',
      url: `${context.settings.publicUrl}/verify-email?token=${verification.token}`,
    },
    meta,
  });
}

export async function verifyEmail(
  context: ServiceContext,
  token: unknown,
  meta: RequestMeta,
): Promise<{ status: 'verified' }> {
  if (typeof token !== 'string' || token.length > 128)
    throw new DomainError('INVALID_INPUT', 'must be the token from the email', { field: 'token' });
  await enforceRateLimits(context, [['email_link_per_ip', meta.ip]]);
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const consumed = await consumeOneTimeToken(tx, token, VERIFY_EMAIL_PURPOSE, now);
    if (!consumed.ok) {
      throw new DomainError(
        'INVALID_INPUT',
        `the verification link is ${consumed.reason === 'unknown' || consumed.reason === 'wrong_purpose' ? 'not valid' : consumed.reason}`,
        { field: 'token' },
      );
    }
    const principal = await findPrincipal(tx, consumed.row.principal_id);
    if (principal === undefined)
      throw new DomainError('INVALID_INPUT', 'the verification link is not valid', { field: 'token' });
    await updatePrincipal(tx, principal.id, { email_verified_at: now.toISOString() });
    await audit(tx, context, {
      actor: `customer:${principal.id}`,
      action: 'account.email_verified',
      subject: `customer:${principal.id}`,
      data: { ip: meta.ip },
    });
    return { status: 'verified' as const };
  });
}
