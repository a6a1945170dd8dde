import type { Compilable } from 'kysely';
import { renderSecurityEmail } from '../core/notifications/security-email.ts';
import { newOneTimeToken, oneTimeTokenInsert } from '../store/identity/one-time-tokens.ts';
import type { Principal } from '../store/identity/principals.ts';
import { settingFromRow, settingQuery } from '../store/identity/settings-history.ts';
import { emailOutboxRow, outboxInsert } from '../store/outbox.ts';
import { type Reads, readTogether, type Tx, together } from '../store/transaction.ts';
import { activeWebhookEndpointsQuery } from '../store/webhooks.ts';
import type { RequestMeta, ServiceContext } from './context.ts';
import { webhookEventRows } from './webhook-events.ts';

export const LOCK_LINK_TTL_MS = 7 * 24 * 60 * 60_000;
export const ANTI_PHISHING_SETTING = 'anti_phishing_code';

export interface Notice {
  readonly event: string;
  readonly headline: string;
  readonly lines?: readonly string[];
  readonly meta?: RequestMeta | undefined;
  readonly actionUrl?: { readonly label: string; readonly url: string };
  /** Security notices cannot be turned off by preferences. */
  readonly security?: boolean;
  /** Deliver to this address instead of the account's (an email change tells the old address). */
  readonly recipient?: string;
}

type EndpointRow = Parameters<typeof webhookEventRows>[1][number];

/** What a notice reads: the customer's anti-phishing code now, and the integrator's webhook endpoints. */
export interface NoticeFacts {
  readonly code: ReturnType<typeof settingFromRow>;
  readonly endpoints: readonly EndpointRow[];
}

/** notifyPrincipal's reads, for a caller that sends them with its own (store/transaction.ts `readTogether`). */
export function noticeReads(tx: Tx, context: ServiceContext, principalId: string): Reads<NoticeFacts> {
  const now = context.clock.now();
  return {
    statements: [
      settingQuery(tx, principalId, ANTI_PHISHING_SETTING, now.toISOString()),
      activeWebhookEndpointsQuery(tx),
    ],
    decode: ([codes, endpoints]) => ({
      code: settingFromRow(codes?.rows[0] as Parameters<typeof settingFromRow>[0]),
      endpoints: (endpoints?.rows ?? []) as EndpointRow[],
    }),
  };
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
  /** The caller's own writes, sent in the same round trip as the notice's (they run first). */
  alongside: readonly Compilable<unknown>[] = [],
  /** What `noticeReads` gave, when the caller sent them with its own reads earlier in this transaction. */
  read?: NoticeFacts,
) {
  const now = context.clock.now();
  // Reads in one round trip (unless the caller sent them with its own), writes in another.
  const { code, endpoints } = read ?? (await readTogether(tx, noticeReads(tx, context, principal.id)))[0];
  const lock = newOneTimeToken({
    principalId: principal.id,
    purpose: 'lock_account',
    data: { event: notice.event },
    now,
    ttlMs: LOCK_LINK_TTL_MS,
  });
  const lockUrl = `${context.settings.publicUrl}/v1/account/lock-link?token=${lock.token}`;
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
  await together(
    tx,
    ...alongside,
    oneTimeTokenInsert(tx, lock.row),
    ...[message, ...webhooks].map((row) => outboxInsert(tx, row)),
  );
  return message;
}
