import { inTransaction } from '../../store/transaction.ts';
import { dueIds, findWithdrawal } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { endWithdrawal } from './cancel.ts';

/**
 * Requests whose confirmation window has passed end in `expired` (nothing was held for them, so nothing is voided).
 * At most `limit` per call; the rest wait for the next round. A confirmation racing the sweep is decided by the
 * state move: whichever commits first wins, the other finds the row no longer awaiting.
 */
export async function expireUnconfirmed(context: ServiceContext, limit: number): Promise<number> {
  const at = context.clock.now().toISOString();
  let expired = 0;
  for (const id of await dueIds(context.database, 'awaiting_confirmation', at, limit)) {
    const moved = await inTransaction(context.database, async (tx) => {
      const row = await findWithdrawal(tx, id);
      if (row === undefined || row.state !== 'awaiting_confirmation' || row.expires_at > at) return false;
      return endWithdrawal(tx, context, row, 'expired', 'system:expiry', 'not confirmed in time');
    });
    if (moved) expired += 1;
  }
  return expired;
}
