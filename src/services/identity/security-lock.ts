import type { EventType } from '../../core/notifications/event-types.ts';
import type { Principal } from '../../store/identity/principals.ts';
import { updatePrincipal } from '../../store/identity/principals.ts';
import type { Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';

/**
 * After a password reset, an email change or any MFA change, withdrawals stay locked for 24 h (configurable)
 * and the customer is told, with the "this wasn't me" link. A later change extends the lock, never shortens it.
 */
export async function startSecurityChangeLock(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  change: {
    event: EventType;
    headline: string;
    /** What the audit entry records beside the lock: an enrolment's factor id and key fingerprint. */
    data?: Readonly<Record<string, string>>;
  },
  meta: RequestMeta | undefined,
): Promise<string> {
  const now = context.clock.now();
  const until = new Date(now.getTime() + context.settings.securityChangeLockMs).toISOString();
  const lockedUntil =
    principal.withdrawals_locked_until !== null && principal.withdrawals_locked_until > until
      ? principal.withdrawals_locked_until
      : until;
  await updatePrincipal(tx, principal.id, { withdrawals_locked_until: lockedUntil });
  await audit(tx, context, {
    actor: `${principal.kind}:${principal.id}`,
    action: change.event,
    subject: `${principal.kind}:${principal.id}`,
    data: { ...change.data, withdrawals_locked_until: lockedUntil, ip: meta?.ip ?? null },
  });
  await notifyPrincipal(tx, context, principal, {
    event: change.event,
    headline: change.headline,
    lines: [
      `For your protection, withdrawals are paused until ${lockedUntil}.`,
      'If you did not make this change, lock your account with the link below right away.',
    ],
    meta,
  });
  return lockedUntil;
}
