import { DomainError, invalidInput } from '../../core/errors.ts';
import { bumpGlobalMfaEpoch, bumpGlobalSessionEpoch } from '../../store/identity/epochs.ts';
import {
  bumpPrincipalMfaEpoch,
  bumpPrincipalSessionEpoch,
  findPrincipal,
} from '../../store/identity/principals.ts';
import type { MfaMethod } from '../../store/schema-identity.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actorName, authorize, type OperatorActor } from './acting-operator.ts';

export type RevocationScope = { readonly all: true } | { readonly customerId: string };

/** The scope as asked for (an API body, CLI flags): `all: true`, or one `customer_id`. */
export interface RevocationScopeInput {
  readonly all?: unknown;
  readonly customer_id?: unknown;
}

export function parseScope(input: RevocationScopeInput): RevocationScope {
  if (input.all === true && input.customer_id === undefined) return { all: true };
  if (input.all === undefined && typeof input.customer_id === 'string' && input.customer_id.length <= 64)
    return { customerId: input.customer_id };
  throw invalidInput('customer_id', 'give either "all": true or one "customer_id"');
}

export function parseMethod(input: unknown): MfaMethod | undefined {
  if (input === undefined) return undefined;
  if (input === 'totp' || input === 'passkey' || input === 'recovery') return input;
  throw invalidInput('method', 'must be totp, passkey or recovery');
}

/**
 * Ends every customer session (or one customer's) by incrementing an epoch: O(1) whatever the number of
 * accounts, and seen by the next request on every node because sessions are checked against it each time.
 */
export async function revokeSessions(
  context: ServiceContext,
  actor: OperatorActor,
  input: RevocationScopeInput,
) {
  // The role is decided by what was asked for (all: true), before the scope is checked.
  authorize(actor, input.all === true ? 'revoke.sessions_all' : 'revoke.sessions_customer');
  const scope = parseScope(input);
  return inTransaction(context.database, async (tx) => {
    if ('all' in scope) {
      const epoch = await bumpGlobalSessionEpoch(tx);
      await audit(tx, context, {
        actor: actorName(actor),
        action: 'security.revoke_all_sessions',
        subject: 'platform',
        data: { session_epoch: epoch },
      });
      return { scope: 'all' as const, session_epoch: epoch };
    }
    const principal = await findPrincipal(tx, scope.customerId);
    if (principal === undefined || principal.kind !== 'customer')
      throw new DomainError('NOT_FOUND', `customer ${scope.customerId} does not exist`);
    await bumpPrincipalSessionEpoch(tx, principal.id);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'security.revoke_sessions',
      subject: `customer:${principal.id}`,
    });
    return { scope: 'customer' as const, customer_id: principal.id };
  });
}

/** Makes every enrolled second factor (optionally of one method) stop counting; customers re-enrol at next login. */
export async function revokeMfa(
  context: ServiceContext,
  actor: OperatorActor,
  input: RevocationScopeInput,
  method: MfaMethod | undefined,
) {
  authorize(actor, input.all === true ? 'revoke.mfa_all' : 'revoke.mfa_customer');
  const scope = parseScope(input);
  return inTransaction(context.database, async (tx) => {
    if ('all' in scope) {
      const epochs = await bumpGlobalMfaEpoch(tx, method);
      await audit(tx, context, {
        actor: actorName(actor),
        action: 'security.revoke_all_mfa',
        subject: 'platform',
        data: { method: method ?? 'all', epochs: { ...epochs } },
      });
      return { scope: 'all' as const, method: method ?? 'all' };
    }
    if (method !== undefined) throw invalidInput('method', 'per-customer revocation covers every method');
    const principal = await findPrincipal(tx, scope.customerId);
    if (principal === undefined || principal.kind !== 'customer')
      throw new DomainError('NOT_FOUND', `customer ${scope.customerId} does not exist`);
    await bumpPrincipalMfaEpoch(tx, principal.id);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'security.revoke_mfa',
      subject: `customer:${principal.id}`,
    });
    return { scope: 'customer' as const, customer_id: principal.id, method: 'all' };
  });
}
