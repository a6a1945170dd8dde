import { DomainError, invalidInput } from '../../core/errors.ts';
import {
  ALWAYS_REQUIRED,
  isMfaPolicyAction,
  MFA_POLICY_ACTIONS,
  type MfaPolicyAction,
} from '../../core/identity/actions.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { recordSetting, settingAt, settingHistory } from '../../store/identity/settings-history.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { ANTI_PHISHING_SETTING, notifyPrincipal } from '../notify.ts';
import type { Authenticated } from './sessions.ts';
import { MFA_POLICY_SETTING_PREFIX } from './signup.ts';
import { consumeStepUp } from './step-up.ts';

const HISTORY_LIMIT = 100;
// Printable, no markup-significant characters: it is shown inside every email, in text and in HTML.
const ANTI_PHISHING_PATTERN = /^[A-Za-z0-9 _.-]{4,32}$/;

export async function getMfaPolicy(context: ServiceContext, auth: Authenticated) {
  const at = context.clock.now().toISOString();
  const policy: Record<string, { required: boolean; changeable: boolean; since: string | null }> = {};
  for (const action of MFA_POLICY_ACTIONS) {
    const value = await settingAt(
      context.database,
      auth.principalId,
      `${MFA_POLICY_SETTING_PREFIX}${action}`,
      at,
    );
    policy[action] = {
      required: ALWAYS_REQUIRED.has(action) || value?.value !== 'optional',
      changeable: !ALWAYS_REQUIRED.has(action),
      since: value?.effectiveAt ?? null,
    };
  }
  return { policy };
}

/** Withdrawals and address-book changes always need a second factor; the others are the customer's choice. */
export async function setMfaPolicy(
  context: ServiceContext,
  auth: Authenticated,
  input: { action?: unknown; required?: unknown; step_up_token?: unknown },
  meta: RequestMeta,
) {
  if (typeof input.action !== 'string' || !isMfaPolicyAction(input.action)) {
    throw invalidInput('action', `must be one of ${MFA_POLICY_ACTIONS.join(', ')}`);
  }
  const action: MfaPolicyAction = input.action;
  if (typeof input.required !== 'boolean') throw invalidInput('required', 'must be true or false');
  if (ALWAYS_REQUIRED.has(action) && !input.required) {
    throw invalidInput('required', `a second factor is always required for ${action}`);
  }
  const required = input.required;
  await inTransaction(context.database, async (tx) => {
    await consumeStepUp(tx, context, auth, 'mfa.policy', input.step_up_token);
    const now = context.clock.now().toISOString();
    await recordSetting(tx, {
      principalId: auth.principalId,
      setting: `${MFA_POLICY_SETTING_PREFIX}${action}`,
      value: required ? 'required' : 'optional',
      effectiveAt: now,
    });
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'mfa.policy_changed',
      subject: `${auth.kind}:${auth.principalId}`,
      data: { for_action: action, required },
    });
    const principal = await findPrincipal(tx, auth.principalId);
    if (principal !== undefined) {
      await notifyPrincipal(tx, context, principal, {
        event: 'mfa.policy_changed',
        headline: `Second factor for ${action}: ${required ? 'required' : 'no longer required'}`,
        meta,
      });
    }
  });
  return getMfaPolicy(context, auth);
}

/** Set or changed with a step-up proof; every value is kept with the time it became active. */
export async function setAntiPhishingCode(
  context: ServiceContext,
  auth: Authenticated,
  input: { code?: unknown; step_up_token?: unknown },
  meta: RequestMeta,
) {
  if (typeof input.code !== 'string' || !ANTI_PHISHING_PATTERN.test(input.code)) {
    throw invalidInput('code', 'must be 4..32 letters, digits, spaces, ".", "_" or "-"');
  }
  const code = input.code;
  return inTransaction(context.database, async (tx) => {
    await consumeStepUp(tx, context, auth, 'anti_phishing.set', input.step_up_token);
    const now = context.clock.now().toISOString();
    await recordSetting(tx, {
      principalId: auth.principalId,
      setting: ANTI_PHISHING_SETTING,
      value: code,
      effectiveAt: now,
    });
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'anti_phishing.set',
      subject: `${auth.kind}:${auth.principalId}`,
    });
    const principal = await findPrincipal(tx, auth.principalId);
    if (principal === undefined) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
    await notifyPrincipal(tx, context, principal, {
      event: 'anti_phishing.set',
      headline: 'Your anti-phishing code was changed',
      lines: ['From now on every genuine Drawbridge email shows the code at the top.'],
      meta,
    });
    return { active_since: now };
  });
}

/** The code itself is never echoed back by the API: only when it became active (emails show it). */
export async function antiPhishingHistory(context: ServiceContext, auth: Authenticated) {
  const rows = await settingHistory(context.database, auth.principalId, ANTI_PHISHING_SETTING, HISTORY_LIMIT);
  return { history: rows.map((r) => ({ active_since: r.effective_at })) };
}

/**
 * Who is signed in, for the console's header: the email, the role (operators), the anti-phishing code in force
 * and the account's locks. The code is shown to the signed-in person only, as every email shows it: a page cloned
 * by a phisher has no session and so cannot show it, which is the point of showing it.
 */
export async function whoAmI(context: ServiceContext, auth: Authenticated) {
  const principal = await findPrincipal(context.database, auth.principalId);
  if (principal === undefined) throw new DomainError('UNAUTHENTICATED', 'the account no longer exists');
  const at = context.clock.now().toISOString();
  // The code proves a page is genuine only while a password alone cannot read it: a phished password (say after a
  // mass MFA revocation left the account password-only) must not learn it. Shown to a second-factor session only.
  const code =
    auth.aal >= 2
      ? await settingAt(context.database, auth.principalId, ANTI_PHISHING_SETTING, at)
      : undefined;
  return {
    id: principal.id,
    kind: principal.kind,
    email: principal.email,
    role: principal.role,
    aal: auth.aal,
    anti_phishing_code: code === undefined || code.value === '' ? null : code.value,
    locked_at: principal.locked_at,
    withdrawals_locked_until: principal.withdrawals_locked_until,
    server_time: at,
  };
}
