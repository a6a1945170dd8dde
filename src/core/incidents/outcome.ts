import type { WithdrawalState } from '../withdrawals/states.ts';

/** How an operator or a monitor finding classed a withdrawal marked as affected by an incident. */
export type AffectedClassification = 'unauthorized' | 'suspect' | 'legitimate';

/**
 * What became of a withdrawal an incident affected, read from its state (never stored, so it cannot go stale):
 * - `stopped`: it ended before release (cancelled, rejected, expired): nothing left the platform;
 * - `in_flight`: not released yet, so it can still be stopped (contain cancels these);
 * - `in_doubt`: released, broadcast or errored: the money may be gone, the chain decides;
 * - `lost`: completed: the money left.
 */
export type WithdrawalOutcome = 'stopped' | 'in_flight' | 'in_doubt' | 'lost';

export const WITHDRAWAL_OUTCOMES: readonly WithdrawalOutcome[] = ['stopped', 'in_flight', 'in_doubt', 'lost'];

const OUTCOME: Readonly<Record<WithdrawalState, WithdrawalOutcome>> = {
  awaiting_confirmation: 'in_flight',
  screening: 'in_flight',
  held_for_review: 'in_flight',
  time_locked: 'in_flight',
  queued: 'in_flight',
  released: 'in_doubt',
  broadcast: 'in_doubt',
  errored: 'in_doubt',
  completed: 'lost',
  cancelled: 'stopped',
  rejected: 'stopped',
  expired: 'stopped',
};

export function withdrawalOutcome(state: WithdrawalState): WithdrawalOutcome {
  return OUTCOME[state];
}
