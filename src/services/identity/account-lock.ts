import { DomainError, invalidInput } from '../../core/errors.ts';
import { consumeOneTimeToken } from '../../store/identity/one-time-tokens.ts';
import {
  bumpPrincipalSessionEpoch,
  findPrincipal,
  type Principal,
  updatePrincipal,
} from '../../store/identity/principals.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { notifyPrincipal } from '../notify.ts';
import { actorName, authorize, type OperatorActor } from './acting-operator.ts';
import { enforceRateLimits } from './rate-limit.ts';
import type { Authenticated } from './sessions.ts';

/** Locks the account: every session ends at once (epoch), withdrawals stop; only an operator unlocks it. */
async function lock(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  how: string,
  meta: RequestMeta | undefined,
) {
  if (principal.locked_at !== null) return { locked_at: principal.locked_at };
  const now = context.clock.now().toISOString();
  await updatePrincipal(tx, principal.id, { locked_at: now, locked_reason: how });
  await bumpPrincipalSessionEpoch(tx, principal.id);
  await audit(tx, context, {
    actor: how === 'lock_link' ? 'anonymous:lock_link' : `${principal.kind}:${principal.id}`,
    action: 'account.locked',
    subject: `${principal.kind}:${principal.id}`,
    data: { how, ip: meta?.ip ?? null },
  });
  await notifyPrincipal(tx, context, principal, {
    event: 'account.locked',
    headline: 'Your account is locked',
    lines: [
      'Every session was ended and withdrawals are stopped. Contact support to unlock it after checking your devices.',
    ],
    meta,
  });
  return { locked_at: now };
}

export async function lockOwnAccount(context: ServiceContext, auth: Authenticated, meta: RequestMeta) {
  return inTransaction(context.database, async (tx) => {
    const principal = await findPrincipal(tx, auth.principalId);
    if (principal === undefined || principal.kind !== 'customer')
      throw new DomainError('FORBIDDEN', 'only customer accounts lock themselves');
    return lock(tx, context, principal, 'customer', meta);
  });
}

/** The one-click link from any security email: single-use, expiring, and needs no session. */
export async function lockWithLink(context: ServiceContext, token: unknown, meta: RequestMeta) {
  if (typeof token !== 'string' || token.length > 128)
    throw invalidInput('token', 'must be the token from the email link');
  await enforceRateLimits(context, [['email_link_per_ip', meta.ip]]);
  return inTransaction(context.database, async (tx) => {
    const consumed = await consumeOneTimeToken(tx, token, 'lock_account', context.clock.now());
    if (!consumed.ok) {
      throw invalidInput(
        'token',
        consumed.reason === 'used'
          ? 'this link was already used'
          : consumed.reason === 'expired'
            ? 'this link has expired'
            : 'this link is not valid',
      );
    }
    const principal = await findPrincipal(tx, consumed.row.principal_id);
    if (principal === undefined) throw invalidInput('token', 'this link is not valid');
    return lock(tx, context, principal, 'lock_link', meta);
  });
}

/** An operator unlocks a customer account; an operator's account only an admin unlocks. */
export async function unlockAccount(
  context: ServiceContext,
  operator: OperatorActor,
  customerId: string,
  input: { reason?: unknown },
) {
  authorize(operator, 'account.unlock');
  if (typeof input.reason !== 'string' || input.reason.length < 3 || input.reason.length > 500)
    throw invalidInput('reason', 'must say why, in 3..500 characters');
  const reason = input.reason;
  return inTransaction(context.database, async (tx) => {
    const principal = await findPrincipal(tx, customerId);
    if (principal === undefined) throw new DomainError('NOT_FOUND', `account ${customerId} does not exist`);
    // A locked operator (their own lock link, say) is unlocked only by an admin.
    if (principal.kind === 'operator') authorize(operator, 'operator.unlock');
    if (principal.locked_at === null) throw new DomainError('WRONG_STATE', 'the account is not locked');
    await updatePrincipal(tx, principal.id, { locked_at: null, locked_reason: null });
    await audit(tx, context, {
      actor: actorName(operator),
      action: 'account.unlocked',
      subject: `${principal.kind}:${principal.id}`,
      data: { reason },
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'account.unlocked',
      headline: 'Your account was unlocked by support',
    });
    return { unlocked: true };
  });
}
