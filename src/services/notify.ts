import type { EventType } from '../core/notifications/event-types.ts';
import { renderSecurityEmail } from '../core/notifications/security-email.ts';
import { newOneTimeToken, storeOneTimeToken } from '../store/identity/one-time-tokens.ts';
import type { Principal } from '../store/identity/principals.ts';
import { type SettingValue, settingAt } from '../store/identity/settings-history.ts';
import { emailOutboxRow, queueOutbox } from '../store/outbox.ts';
import type { Tx } from '../store/transaction.ts';
import { activeWebhookEndpoints } from '../store/webhooks.ts';
import type { RequestMeta, ServiceContext } from './context.ts';
import { webhookEventRows } from './webhook-events.ts';

export const LOCK_LINK_TTL_MS = 7 * 24 * 60 * 60_000;

import { ANTI_PHISHING_SETTING } from '../core/notifications/anti-phishing.ts';

export { ANTI_PHISHING_SETTING };

export interface Notice {
  readonly event: EventType;
  readonly headline: string;
  readonly lines?: readonly string[];
  readonly meta?: RequestMeta | undefined;
  readonly actionUrl?: { readonly label: string; readonly url: string };
  /** Security notices cannot be turned off by preferences. */
  readonly security?: boolean;
  /** Deliver to this address instead of the account's (an email change tells the old address). */
  readonly recipient?: string;
}

/**
 * Tells a customer what happened, in the caller's transaction: renders the email with their current
 * anti-phishing code and a fresh single-use "lock my account" link, and writes it to the outbox.
 */
export async function notifyPrincipal(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  notice: Notice,
  /** What the caller already read in this transaction: the anti-phishing code in force now. */
  known?: { readonly antiPhishingCode: SettingValue | undefined },
) {
  const now = context.clock.now();
  const code =
    known === undefined
      ? await settingAt(tx, principal.id, ANTI_PHISHING_SETTING, now.toISOString())
      : known.antiPhishingCode;
  // A withdrawal's own events reach integrators from its event log, with their structured data (the relay); every
  // other notice is told to them here.
  const endpoints = notice.event.startsWith('withdrawal.') ? [] : await activeWebhookEndpoints(tx);
  const lock = newOneTimeToken({
    principalId: principal.id,
    purpose: 'lock_account',
    data: { event: notice.event },
    now,
    ttlMs: LOCK_LINK_TTL_MS,
  });
  const lockUrl = `${context.settings.publicUrl}/lock-account?token=${lock.token}`;
  const device = notice.meta?.device;
  const email = renderSecurityEmail({
    event: notice.event,
    headline: notice.headline,
    lines: notice.lines ?? [],
    at: now,
    antiPhishingCode: code?.value === '' ? undefined : code?.value,
    device:
      device === undefined ? notice.meta?.userAgent : `${device.platform} (${notice.meta?.userAgent ?? ''})`,
    ip: notice.meta?.ip,
    lockUrl,
    actionUrl: notice.actionUrl,
  });
  // The integrator hears of every event too; the payload carries facts only, never a link or token.
  const webhooks = webhookEventRows(context, endpoints, {
    event: notice.event,
    accountId: principal.id,
    payload: { account_id: principal.id, at: now.toISOString(), summary: notice.headline },
  });
  const message = emailOutboxRow({
    recipient: notice.recipient ?? principal.email,
    accountId: principal.id,
    event: notice.event,
    security: notice.security ?? true,
    email,
    payload: { event: notice.event, account_id: principal.id, at: now.toISOString() },
    now: now.toISOString(),
  });
  await storeOneTimeToken(tx, lock.row);
  await queueOutbox(tx, [message, ...webhooks]);
  return message;
}
