import { engineOf } from './compiled-query.ts';
import type { WithdrawalState } from './schema-withdrawals.ts';
import type { Tx } from './transaction.ts';

/** An event not yet relayed, with what of its withdrawal an integrator is told (as the row is now). */
export interface UnrelayedEvent {
  readonly event_id: string;
  readonly at: string;
  readonly from_state: WithdrawalState | null;
  readonly to_state: WithdrawalState;
  readonly actor: string;
  readonly reason: string | null;
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly destination_address: string;
  readonly destination_label: string;
  readonly state: WithdrawalState;
  readonly release_after: string | null;
  readonly time_locked_until: string | null;
  readonly screening: string | null;
  readonly txid: string | null;
}

/**
 * The oldest `limit` events not yet relayed, oldest first. On PostgreSQL the rows are locked and rows another
 * relay holds are skipped, so relays on several nodes share the work and never tell an event twice. Reaching
 * `limit` only means more remain: the relay runs again at once (nothing is decided by what is left out).
 */
export async function claimUnrelayedEvents(tx: Tx, limit: number): Promise<UnrelayedEvent[]> {
  const query = tx
    .selectFrom('withdrawal_events as e')
    .innerJoin('withdrawals as w', 'w.id', 'e.withdrawal_id')
    .select([
      'e.id as event_id',
      'e.at',
      'e.from_state',
      'e.to_state',
      'e.actor',
      'e.reason',
      'w.id as withdrawal_id',
      'w.account_id',
      'w.asset',
      'w.network',
      'w.amount',
      'w.fee',
      'w.destination_address',
      'w.destination_label',
      'w.state',
      'w.release_after',
      'w.time_locked_until',
      'w.screening',
      'w.txid',
    ])
    .where('e.relayed_at', 'is', null)
    .orderBy('e.at')
    .orderBy('e.id')
    .limit(limit);
  const rows = await (engineOf(tx) === 'postgres' ? query.forUpdate('e').skipLocked() : query).execute();
  return rows as UnrelayedEvent[];
}

export async function markEventsRelayed(tx: Tx, eventIds: readonly string[], at: string): Promise<void> {
  if (eventIds.length === 0) return;
  await tx.updateTable('withdrawal_events').set({ relayed_at: at }).where('id', 'in', eventIds).execute();
}
