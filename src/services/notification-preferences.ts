import { DomainError, invalidInput } from '../core/errors.ts';
import { preferencesOf, setPreference } from '../store/notification-preferences.ts';
import { inTransaction } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import type { Authenticated } from './identity/sessions.ts';

/**
 * Notifications a customer may turn off. Everything about logins, second factors, devices, the anti-phishing code,
 * the address book, withdrawals and the account itself is a security notification: always sent (DESIGN
 * invariant 8), whatever the preferences say.
 */
export const OPTIONAL_EVENTS: Readonly<Record<string, string>> = Object.freeze({
  'deposit.credited': 'A deposit was credited to your account',
  'account.monthly_statement': 'Your monthly statement is ready',
  'product.announcement': 'News about Drawbridge',
});

const SECURITY_EVENT_AREAS = [
  'account.',
  'anti_phishing.',
  'address_book.',
  'claim.',
  'device.',
  'incident.',
  'login.',
  'mfa.',
  'session.',
  'withdrawal.',
];
const MAX_CHANGES = 20;

export function isSecurityEvent(event: string): boolean {
  return !(event in OPTIONAL_EVENTS) && SECURITY_EVENT_AREAS.some((area) => event.startsWith(area));
}

export async function getNotificationPreferences(context: ServiceContext, auth: Authenticated) {
  const rows = await preferencesOf(context.database, auth.principalId, MAX_CHANGES * 2);
  const off = new Set(rows.filter((r) => Number(r.enabled) === 0).map((r) => r.event));
  return {
    preferences: Object.entries(OPTIONAL_EVENTS).map(([event, description]) => ({
      event,
      description,
      enabled: !off.has(event),
    })),
    always_on: 'security notifications (sign-ins, second factors, addresses, withdrawals) are always sent',
  };
}

/** Turns optional notifications on or off; asking to turn off a security one is refused, naming it. */
export async function setNotificationPreferences(
  context: ServiceContext,
  auth: Authenticated,
  input: { preferences?: unknown },
) {
  const changes = parseChanges(input.preferences);
  await inTransaction(context.database, async (tx) => {
    const now = context.clock.now().toISOString();
    for (const change of changes) {
      await setPreference(tx, {
        accountId: auth.principalId,
        event: change.event,
        enabled: change.enabled,
        now,
      });
    }
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'notification_preferences.changed',
      subject: `customer:${auth.principalId}`,
      data: { changes: changes.map((c) => ({ event: c.event, enabled: c.enabled })) },
    });
  });
  return getNotificationPreferences(context, auth);
}

function parseChanges(input: unknown): { event: string; enabled: boolean }[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_CHANGES) {
    throw invalidInput('preferences', `must list 1..${MAX_CHANGES} changes`);
  }
  const changes: { event: string; enabled: boolean }[] = [];
  input.forEach((item: unknown, index) => {
    const { event, enabled } = (item ?? {}) as { event?: unknown; enabled?: unknown };
    if (typeof event !== 'string' || event.length > 64) {
      throw invalidInput(`preferences.${index}.event`, 'must be an event name');
    }
    if (typeof enabled !== 'boolean')
      throw invalidInput(`preferences.${index}.enabled`, 'must be true or false');
    if (isSecurityEvent(event)) {
      // Already always on: nothing to store.
      if (enabled) return;
      throw new DomainError('INVALID_INPUT', `${event} is a security notification and cannot be turned off`, {
        field: `preferences.${index}.enabled`,
        details: { event },
      });
    }
    if (!(event in OPTIONAL_EVENTS)) {
      throw invalidInput(`preferences.${index}.event`, `${event} is not a notification you can choose`);
    }
    changes.push({ event, enabled });
  });
  return changes;
}
