import type { WithdrawalState } from '../withdrawals/states.ts';

/** How an operator or a monitor finding classed a withdrawal marked as affected by an incident. */
export type AffectedClassification = 'unauthorized' | 'suspect' | 'legitimate';

/**
 * What became of an affected withdrawal, read from its state (never stored, so it cannot go stale):
 * - `stopped`: it never left (any state before release, and cancelled, rejected, expired);
 * - `lost`: the chain confirmed it (completed);
 * - `in_doubt`: it was signed for custody and its fate is not settled (released, broadcast, errored).
 */
export type AffectedOutcome = 'stopped' | 'lost' | 'in_doubt';

export const AFFECTED_OUTCOMES: readonly AffectedOutcome[] = ['stopped', 'lost', 'in_doubt'];

const OUTCOME_OF: Readonly<Record<WithdrawalState, AffectedOutcome>> = Object.freeze({
  awaiting_confirmation: 'stopped',
  screening: 'stopped',
  held_for_review: 'stopped',
  time_locked: 'stopped',
  queued: 'stopped',
  cancelled: 'stopped',
  rejected: 'stopped',
  expired: 'stopped',
  completed: 'lost',
  released: 'in_doubt',
  broadcast: 'in_doubt',
  errored: 'in_doubt',
});

export function withdrawalOutcome(state: WithdrawalState): AffectedOutcome {
  return OUTCOME_OF[state];
}
