import { DomainError, invalidInput } from '../../core/errors.ts';
import { CANCELLABLE } from '../../core/withdrawals/states.ts';
import { voidHold } from '../../store/ledger/index.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { lockWithdrawal, moveWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actingOperator, authorize } from '../identity/acting-operator.ts';
import type { Authenticated } from '../identity/sessions.ts';
import { notFoundWithdrawal } from './request.ts';
import { viewWithdrawal } from './view.ts';

/** Voids the hold (if one was placed) and moves the withdrawal to cancelled or rejected, in the caller's tx. */
export async function endWithdrawal(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  to: 'cancelled' | 'rejected',
  actor: string,
  reason: string,
): Promise<boolean> {
  const now = context.clock.now();
  const moved = await moveWithdrawal(tx, {
    id: withdrawal.id,
    from: withdrawal.state,
    path: [{ to, actor, reason }],
    changes: { reason },
    at: now.toISOString(),
  });
  if (!moved) return false;
  if (withdrawal.proof_id !== null) {
    await voidHold(
      tx,
      { id: `${withdrawal.id}:void`, pendingId: withdrawal.id, code: `withdrawal_${to}` },
      now,
    );
  }
  await audit(tx, context, {
    actor,
    action: `withdrawal.${to}`,
    subject: `withdrawal:${withdrawal.id}`,
    data: { from: withdrawal.state, reason },
  });
  return true;
}

/** The customer (their own) or an operator (any) cancels any time before release. */
export async function cancelWithdrawal(
  context: ServiceContext,
  auth: Authenticated,
  id: string,
  input: { reason?: unknown } = {},
) {
  if (auth.kind === 'operator') authorize(actingOperator(auth), 'withdrawal.cancel');
  if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > 500)) {
    throw invalidInput('reason', 'must be at most 500 characters');
  }
  const reason =
    typeof input.reason === 'string'
      ? input.reason
      : auth.kind === 'operator'
        ? 'cancelled by an operator'
        : 'cancelled by the customer';
  return inTransaction(context.database, async (tx) => {
    const withdrawal = await lockWithdrawal(context.database, tx, id);
    if (withdrawal === undefined || (auth.kind === 'customer' && withdrawal.account_id !== auth.principalId))
      throw notFoundWithdrawal(id);
    if (!CANCELLABLE.has(withdrawal.state)) {
      throw new DomainError('WRONG_STATE', `a ${withdrawal.state} withdrawal can no longer be cancelled`, {
        details: { state: withdrawal.state },
      });
    }
    await endWithdrawal(tx, context, withdrawal, 'cancelled', `${auth.kind}:${auth.principalId}`, reason);
    return viewWithdrawal({ ...withdrawal, state: 'cancelled', reason });
  });
}
