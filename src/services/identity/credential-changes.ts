import { DomainError, invalidInput } from '../../core/errors.ts';
import { normalizeEmail } from '../../core/identity/email.ts';
import { checkNewPassword } from '../../core/identity/password.ts';
import {
  consumeOneTimeToken,
  issueOneTimeToken,
  revokeOneTimeTokens,
} from '../../store/identity/one-time-tokens.ts';
import {
  bumpPrincipalSessionEpoch,
  findPrincipal,
  findPrincipalByEmail,
  updatePrincipal,
} from '../../store/identity/principals.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';
import { hashPassword } from './passwords.ts';
import { enforceRateLimits } from './rate-limit.ts';
import { startSecurityChangeLock } from './security-lock.ts';
import type { Authenticated } from './sessions.ts';
import { consumeStepUp } from './step-up.ts';

export const PASSWORD_RESET_TTL_MS = 60 * 60_000;
export const EMAIL_CHANGE_TTL_MS = 24 * 60 * 60_000;

function tokenInput(input: unknown): string {
  if (typeof input !== 'string' || input.length === 0 || input.length > 128) {
    throw invalidInput('token', 'must be the token from the email');
  }
  return input;
}

/** Always the same answer, so the form cannot tell which emails have accounts. */
export async function requestPasswordReset(
  context: ServiceContext,
  input: { email?: unknown },
  meta: RequestMeta,
) {
  const email = normalizeEmail(input.email);
  await enforceRateLimits(context, [['email_link_per_ip', meta.ip]]);
  await inTransaction(context.database, async (tx) => {
    const principal = await findPrincipalByEmail(tx, 'customer', email);
    if (principal === undefined || principal.email_verified_at === null) return;
    const now = context.clock.now();
    await revokeOneTimeTokens(tx, principal.id, 'password_reset', now);
    const reset = await issueOneTimeToken(tx, {
      principalId: principal.id,
      purpose: 'password_reset',
      data: {},
      now,
      ttlMs: PASSWORD_RESET_TTL_MS,
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'account.password_reset_requested',
      headline: 'A password reset was requested',
      lines: [
        'Use the code below within one hour to choose a new password. If you did not ask, ignore this email.',
        `Reset code: ${reset.token}`,
      ],
      meta,
    });
  });
  return { status: 'reset_sent_if_account_exists' as const };
}

/**
 * A new password from a reset link: every session ends, withdrawals pause for the security-change lock, and the
 * customer is told with the lock link.
 */
export async function completePasswordReset(
  context: ServiceContext,
  input: { token?: unknown; password?: unknown },
  meta: RequestMeta,
) {
  const token = tokenInput(input.token);
  const password = checkNewPassword(input.password);
  await enforceRateLimits(context, [['email_link_per_ip', meta.ip]]);
  const passwordHash = await hashPassword(password);
  return inTransaction(context.database, async (tx) => {
    const consumed = await consumeOneTimeToken(tx, token, 'password_reset', context.clock.now());
    if (!consumed.ok)
      throw invalidInput(
        'token',
        `the reset code is ${consumed.reason === 'expired' || consumed.reason === 'used' ? consumed.reason : 'not valid'}`,
      );
    const principal = await findPrincipal(tx, consumed.row.principal_id);
    if (principal === undefined) throw invalidInput('token', 'the reset code is not valid');
    await updatePrincipal(tx, principal.id, { password_hash: passwordHash });
    await bumpPrincipalSessionEpoch(tx, principal.id);
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      principal,
      { event: 'account.password_reset', headline: 'Your password was reset' },
      meta,
    );
    return { status: 'password_reset' as const, withdrawals_locked_until: lockedUntil };
  });
}

/** Changing the email needs a step-up proof; the new address confirms with a link, the old one is told. */
export async function requestEmailChange(
  context: ServiceContext,
  auth: Authenticated,
  input: { new_email?: unknown; step_up_token?: unknown },
  meta: RequestMeta,
) {
  const newEmail = normalizeEmail(input.new_email, 'new_email');
  return inTransaction(context.database, async (tx) => {
    await consumeStepUp(tx, context, auth, 'email.change', input.step_up_token);
    const principal = await findPrincipal(tx, auth.principalId);
    if (principal === undefined) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
    if (newEmail === principal.email) throw invalidInput('new_email', 'is already your email address');
    if ((await findPrincipalByEmail(tx, 'customer', newEmail)) !== undefined) {
      throw new DomainError('ALREADY_EXISTS', 'that email address belongs to another account', {
        field: 'new_email',
      });
    }
    const now = context.clock.now();
    await revokeOneTimeTokens(tx, principal.id, 'email_change', now);
    const change = await issueOneTimeToken(tx, {
      principalId: principal.id,
      purpose: 'email_change',
      data: { new_email: newEmail },
      now,
      ttlMs: EMAIL_CHANGE_TTL_MS,
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'account.email_change_requested',
      headline: 'Confirm your new email address',
      lines: [
        'Use the code below to confirm this address for your Drawbridge account.',
        `Confirmation code: ${change.token}`,
      ],
      meta,
      recipient: newEmail,
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'account.email_change_requested',
      headline: `A change of your email address to ${newEmail} was requested`,
      lines: ['If you did not ask for this, lock your account now.'],
      meta,
    });
    return { status: 'confirmation_sent' as const };
  });
}

export async function confirmEmailChange(
  context: ServiceContext,
  input: { token?: unknown },
  meta: RequestMeta,
) {
  const token = tokenInput(input.token);
  await enforceRateLimits(context, [['email_link_per_ip', meta.ip]]);
  return inTransaction(context.database, async (tx) => {
    const consumed = await consumeOneTimeToken(tx, token, 'email_change', context.clock.now());
    if (!consumed.ok)
      throw invalidInput(
        'token',
        `the confirmation code is ${consumed.reason === 'expired' || consumed.reason === 'used' ? consumed.reason : 'not valid'}`,
      );
    const principal = await findPrincipal(tx, consumed.row.principal_id);
    if (principal === undefined) throw invalidInput('token', 'the confirmation code is not valid');
    const { new_email: newEmail } = JSON.parse(consumed.row.data) as { new_email: string };
    if ((await findPrincipalByEmail(tx, 'customer', newEmail)) !== undefined) {
      throw new DomainError('ALREADY_EXISTS', 'that email address now belongs to another account', {
        field: 'token',
      });
    }
    const oldEmail = principal.email;
    await updatePrincipal(tx, principal.id, {
      email: newEmail,
      email_verified_at: context.clock.now().toISOString(),
    });
    await audit(tx, context, {
      actor: `customer:${principal.id}`,
      action: 'account.email_changed',
      subject: `customer:${principal.id}`,
      data: { from: oldEmail, to: newEmail },
    });
    const lockedUntil = await startSecurityChangeLock(
      tx,
      context,
      { ...principal, email: newEmail },
      { event: 'account.email_changed', headline: `Your email address was changed from ${oldEmail}` },
      meta,
    );
    // The old address hears of it too: it is where an attacker would not want the news to go.
    await notifyPrincipal(tx, context, principal, {
      event: 'account.email_changed',
      headline: `Your email address was changed to ${newEmail}`,
      lines: ['If you did not make this change, lock your account with the link below.'],
      meta,
      recipient: oldEmail,
    });
    return { status: 'email_changed' as const, withdrawals_locked_until: lockedUntil };
  });
}
