import type { Tx } from '../../store/transaction.ts';
import { moveWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';

/**
 * Sends a withdrawal whose custody outcome is not known for certain to `errored`, for an operator to check the
 * chain, with its audit entry; its hold stays (never voided automatically). False when it was no longer in `from`.
 */
export async function markErrored(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  change: {
    readonly from: 'released' | 'broadcast';
    readonly actor: string;
    readonly reason: string;
    readonly action: string;
    readonly severity?: 'critical';
  },
): Promise<boolean> {
  const moved = await moveWithdrawal(tx, {
    id: withdrawal.id,
    from: change.from,
    path: [{ to: 'errored', actor: change.actor, reason: change.reason }],
    changes: { reason: change.reason },
    at: context.clock.now().toISOString(),
  });
  if (moved) {
    await audit(tx, context, {
      actor: change.actor,
      action: change.action,
      subject: `withdrawal:${withdrawal.id}`,
      data: {
        reason: change.reason,
        txid: withdrawal.txid,
        ...(change.severity === undefined ? {} : { severity: change.severity }),
      },
    });
  }
  return moved;
}
