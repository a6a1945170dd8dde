import type { JsonObject } from '../../core/audit-hash.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { holdMismatch } from '../../core/risk/release-rules.ts';
import { CANCELLABLE } from '../../core/withdrawals/states.ts';
import { findHold, findHolds, voidHold, voidHolds } from '../../store/ledger/index.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import {
  lockWithdrawal,
  moveLockedWithdrawal,
  moveWithdrawal,
  type WithdrawalRow,
} from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actingOperator, authorize } from '../identity/acting-operator.ts';
import type { Authenticated } from '../identity/sessions.ts';
import { notFoundWithdrawal } from './request.ts';
import { viewWithdrawal } from './view.ts';

/**
 * Moves the withdrawal to cancelled or rejected and voids its hold, in the caller's tx. A withdrawal past
 * confirmation whose hold is missing or is not the one it placed (a row written around the services) still ends,
 * so an operator can clear the alarm, but its ledger is left as it is and the end is audited as critical.
 */
export async function endWithdrawal(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  to: 'cancelled' | 'rejected' | 'expired',
  actor: string,
  reason: string,
  /** More for the audit entry's data (an incident's cancel carries its `incident_id`). */
  auditData: JsonObject = {},
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
  const mismatch =
    withdrawal.proof_id === null ? undefined : holdMismatch(withdrawal, await findHold(tx, withdrawal.id));
  if (withdrawal.proof_id !== null && mismatch === undefined) await voidHold(tx, voidOf(withdrawal, to), now);
  await audit(tx, context, endAudit(withdrawal, to, actor, reason, auditData, mismatch));
  return true;
}

/**
 * endWithdrawal for many withdrawals at once (a containment's batch), in the caller's tx: each row must have been read
 * in this transaction in a state before release and locked there (store lockCancellable), so every move lands. The
 * same ends, voids and audit entries as endWithdrawal, each hold checked the same way; the holds are read and voided
 * together (store findHolds, voidHolds), the moves and audit entries sent without waiting for their answers.
 */
export async function endLockedWithdrawals(
  tx: Tx,
  context: ServiceContext,
  withdrawals: readonly WithdrawalRow[],
  to: 'cancelled' | 'rejected' | 'expired',
  actor: string,
  reason: string,
  auditData: JsonObject = {},
): Promise<void> {
  const now = context.clock.now();
  const holds = await findHolds(
    tx,
    withdrawals.filter((w) => w.proof_id !== null).map((w) => w.id),
  );
  const voids = [];
  for (const withdrawal of withdrawals) {
    await moveLockedWithdrawal(tx, {
      id: withdrawal.id,
      from: withdrawal.state,
      path: [{ to, actor, reason }],
      changes: { reason },
      at: now.toISOString(),
    });
    const mismatch =
      withdrawal.proof_id === null ? undefined : holdMismatch(withdrawal, holds.get(withdrawal.id));
    if (withdrawal.proof_id !== null && mismatch === undefined) voids.push(voidOf(withdrawal, to));
    await audit(tx, context, endAudit(withdrawal, to, actor, reason, auditData, mismatch));
  }
  await voidHolds(tx, voids, now);
}

function voidOf(withdrawal: WithdrawalRow, to: string) {
  return { id: `${withdrawal.id}:void`, pendingId: withdrawal.id, code: `withdrawal_${to}` };
}

function endAudit(
  withdrawal: WithdrawalRow,
  to: string,
  actor: string,
  reason: string,
  auditData: JsonObject,
  mismatch: string | undefined,
) {
  return {
    actor,
    action: `withdrawal.${to}`,
    subject: `withdrawal:${withdrawal.id}`,
    data: {
      ...auditData,
      from: withdrawal.state,
      reason,
      ...(mismatch === undefined ? {} : { hold: `not voided: ${mismatch}`, severity: 'critical' }),
    },
  };
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
