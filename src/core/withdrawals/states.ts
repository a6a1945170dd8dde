/**
 * The withdrawal life cycle of DESIGN.md, as data and defined once: the store's column type, the migration's
 * CHECK and the one move function (src/store/withdrawals.ts) all come from here. Every move not listed is a bug.
 */
export const WITHDRAWAL_STATES = [
  'awaiting_confirmation',
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
  'released',
  'broadcast',
  'completed',
  'cancelled',
  'rejected',
  'errored',
  'expired',
] as const;

export type WithdrawalState = (typeof WITHDRAWAL_STATES)[number];

/**
 * Each state's possible next states. `screening` is entered and left inside the confirming transaction, so
 * nothing outside it (a cancel, an operator) ever sees it; `errored` is resolved by an operator who checked the
 * chain: paid (completed, the hold posted) or never paid (cancelled, the hold voided).
 */
export const TRANSITIONS: Readonly<Record<WithdrawalState, readonly WithdrawalState[]>> = Object.freeze({
  awaiting_confirmation: ['screening', 'cancelled', 'expired'],
  screening: ['queued', 'time_locked', 'held_for_review', 'rejected'],
  held_for_review: ['queued', 'rejected', 'cancelled'],
  time_locked: ['queued', 'cancelled'],
  queued: ['released', 'time_locked', 'held_for_review', 'cancelled'],
  released: ['broadcast', 'errored'],
  broadcast: ['completed', 'errored'],
  errored: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
  rejected: [],
  expired: [],
});

/** The states nothing leaves (no hop in TRANSITIONS): the database refuses to move a row out of one (migration 0035). */
export const FINAL_STATES: readonly WithdrawalState[] = WITHDRAWAL_STATES.filter(
  (state) => TRANSITIONS[state].length === 0,
);

export function isWithdrawalState(value: unknown): value is WithdrawalState {
  return typeof value === 'string' && (WITHDRAWAL_STATES as readonly string[]).includes(value);
}

export function canMove(from: WithdrawalState, to: WithdrawalState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Every allowed hop, as `from->to` strings (for tests and reports). */
export function allTransitions(): readonly (readonly [WithdrawalState, WithdrawalState])[] {
  return WITHDRAWAL_STATES.flatMap((from) => TRANSITIONS[from].map((to) => [from, to] as const));
}

/** States in which the customer or an operator may still cancel (before release). */
export const CANCELLABLE: ReadonlySet<WithdrawalState> = new Set(
  WITHDRAWAL_STATES.filter((state) => canMove(state, 'cancelled') && state !== 'errored'),
);

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

/** States past confirmation: the row must name its proof (the migration's CHECK). */
export const PAST_CONFIRMATION: readonly WithdrawalState[] = WITHDRAWAL_STATES.filter(
  (state) =>
    state !== 'awaiting_confirmation' && state !== 'cancelled' && state !== 'rejected' && state !== 'expired',
);

/** States that carry a release attestation (the migration's CHECK). */
export const ATTESTED: readonly WithdrawalState[] = ['released', 'broadcast', 'completed'];
