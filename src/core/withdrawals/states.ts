import type { WithdrawalState } from '../../store/schema-withdrawals.ts';

export type { WithdrawalState };

/** The life cycle of ../shared/DESIGN.md, as data: every move not listed here is a bug. */
const TRANSITIONS: Readonly<Record<WithdrawalState, readonly WithdrawalState[]>> = {
  awaiting_confirmation: ['screening', 'cancelled'],
  screening: ['queued', 'time_locked', 'held_for_review', 'rejected', 'cancelled'],
  held_for_review: ['queued', 'rejected', 'cancelled'],
  time_locked: ['queued', 'held_for_review', 'cancelled'],
  queued: ['released', 'time_locked', 'held_for_review', 'cancelled'],
  released: ['broadcast', 'errored'],
  broadcast: ['completed', 'errored'],
  errored: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
  rejected: [],
};

export function canMove(from: WithdrawalState, to: WithdrawalState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States in which the customer or an operator may still cancel (before release). */
export const CANCELLABLE: ReadonlySet<WithdrawalState> = new Set([
  'awaiting_confirmation',
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
]);

/** States in which a hold exists and is not yet resolved. */
export const HOLDING: ReadonlySet<WithdrawalState> = new Set([
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
  'released',
  'broadcast',
  'errored',
]);
