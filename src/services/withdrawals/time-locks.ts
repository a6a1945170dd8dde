import { inTransaction } from '../../store/transaction.ts';
import { dueIds, findWithdrawal, moveWithdrawal } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';

/**
 * Time locks that have ended go back to the queue with a fresh cancel window: the first-use window when this is
 * the first withdrawal to its destination (a time lock must not shorten it), the ordinary one otherwise. The
 * releaser's rules decide again before anything is released. At most `limit` per call; the rest wait.
 */
export async function requeueEndedTimeLocks(context: ServiceContext, limit: number): Promise<number> {
  const at = context.clock.now();
  let moved = 0;
  for (const id of await dueIds(context.database, 'time_locked', at.toISOString(), limit)) {
    const ok = await inTransaction(context.database, async (tx) => {
      const row = await findWithdrawal(tx, id);
      const windowMs =
        row?.first_use === 1
          ? context.withdrawals.firstUseCancelWindowMs
          : context.withdrawals.cancelWindowMs;
      return moveWithdrawal(tx, {
        id,
        from: 'time_locked',
        path: [{ to: 'queued', actor: 'system:releaser', reason: 'time lock ended' }],
        changes: {
          release_after: new Date(at.getTime() + windowMs).toISOString(),
          time_locked_until: null,
          reason: null,
        },
        at: at.toISOString(),
      });
    });
    if (ok) moved += 1;
  }
  return moved;
}
