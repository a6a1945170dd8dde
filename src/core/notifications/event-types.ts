import type { WithdrawalState } from '../withdrawals/states.ts';

/**
 * The one catalogue of events Drawbridge tells integrators about (webhooks) and, for some, customers (email).
 * Subscribing to a name not listed here is refused; `GET /v1/webhook-event-types` and the README publish it.
 */
export const EVENT_TYPES = {
  'withdrawal.requested': 'A customer asked for a withdrawal; it awaits their second factor.',
  'withdrawal.confirmed': "The customer's second factor confirmed the withdrawal; the funds are held.",
  'withdrawal.screened':
    'The risk rules decided: data.outcome is approve, time_lock, review or reject, with each rule in data.rules.',
  'withdrawal.queued':
    'The withdrawal waits for its cancel window to end (data.release_after), then is released.',
  'withdrawal.time_locked':
    'The withdrawal is time-locked until data.time_locked_until; the customer may cancel.',
  'withdrawal.held': 'The withdrawal is held for an operator to review.',
  'withdrawal.released': 'The withdrawal passed the release rules and was signed for custody.',
  'withdrawal.broadcast': 'Custody broadcast the transaction: data.txid.',
  'withdrawal.completed': 'The transaction confirmed on chain; the hold was posted.',
  'withdrawal.cancelled':
    'The withdrawal was cancelled (by the customer, an operator or expiry); the hold was voided.',
  'withdrawal.rejected': 'The risk rules or an operator rejected the withdrawal; the hold was voided.',
  'withdrawal.errored': 'Custody failed or the chain disagreed; an operator resolves it.',
  'withdrawal.expired': 'The withdrawal was not confirmed within its confirmation window; nothing was held.',
  'account.signup_attempt': 'Someone tried to sign up with an email that already has an account.',
  'account.verify_email': 'An email verification was requested.',
  'account.email_change_requested': 'A change of the account email was requested.',
  'account.email_changed': 'The account email changed.',
  'account.password_reset_requested': 'A password reset was requested.',
  'account.password_reset': 'The password was reset.',
  'account.locked': 'The account was locked (by the customer, an operator or a rule).',
  'account.unlocked': 'The account was unlocked by an operator.',
  'account.reimbursed':
    'An unauthorized withdrawal was paid back after an incident (data.withdrawal_id, asset, amount, incident_id).',
  'deposit.credited': "A deposit was credited to the customer's balance, once a second operator approved it.",
  'anti_phishing.set': 'The anti-phishing code was set or changed.',
  'address_book.added': 'An address was added to the address book; it cools before use.',
  'address_book.removed': 'An address was removed from the address book.',
  'address_book.cooling_changed': "The account's cooling period changed.",
  'device.new': 'A login from a device not seen before.',
  'mfa.totp_enrolled': 'An authenticator app was enrolled.',
  'mfa.passkey_registered': 'A passkey was registered.',
  'mfa.factor_removed': 'A second factor was removed.',
  'mfa.recovery_codes_regenerated': 'New recovery codes were generated; the old ones stopped working.',
  'mfa.policy_changed': 'Which actions need a second factor changed.',
  'mfa.locked': 'Too many wrong codes: second-factor checks are locked for a while.',
  'mfa.totp_replay_refused': 'A code already used was entered again, perhaps by someone who saw it.',
  'alert.raised':
    'A critical alert was raised (data.alert_id, kind, severity, title, subject): on-call operators are paged.',
  'incident.opened':
    'An operator opened an incident (data.incident_id, title, severity, alert_id): the playbook is running.',
  'incident.resumed':
    "Two operators lifted an incident's halts (data.incident_id, request_id, halt_ids): withdrawals may go out again.",
  'mfa.reenrolment_link':
    'A link to enrol a second factor again was sent to the verified email (needed after an MFA revocation).',
  'webhook.test': 'A test event sent on request to one endpoint (POST /v1/operator/webhooks/{id}/test).',
} as const satisfies Record<string, string>;

export type EventType = keyof typeof EVENT_TYPES;

export function isEventType(name: unknown): name is EventType {
  return typeof name === 'string' && Object.hasOwn(EVENT_TYPES, name);
}

/** The catalogue as a list, in the order above. */
export function eventCatalogue(): readonly { readonly type: EventType; readonly description: string }[] {
  return (Object.keys(EVENT_TYPES) as EventType[]).map((type) => ({ type, description: EVENT_TYPES[type] }));
}

const ENTERED: Readonly<Record<WithdrawalState, EventType>> = {
  awaiting_confirmation: 'withdrawal.requested',
  screening: 'withdrawal.confirmed',
  queued: 'withdrawal.queued',
  time_locked: 'withdrawal.time_locked',
  held_for_review: 'withdrawal.held',
  released: 'withdrawal.released',
  broadcast: 'withdrawal.broadcast',
  completed: 'withdrawal.completed',
  cancelled: 'withdrawal.cancelled',
  rejected: 'withdrawal.rejected',
  errored: 'withdrawal.errored',
  expired: 'withdrawal.expired',
};

/**
 * The events one hop of a withdrawal emits: the state it enters, and, when it leaves screening, the screening's
 * decision before it (so an integrator can follow either every decision or only the states it cares about).
 */
export function withdrawalEventTypes(
  from: WithdrawalState | null,
  to: WithdrawalState,
): readonly EventType[] {
  return from === 'screening' ? ['withdrawal.screened', ENTERED[to]] : [ENTERED[to]];
}

/** The withdrawal events a customer is emailed about (confirmation has its own email, sent when it happens). */
export const CUSTOMER_WITHDRAWAL_EMAILS: ReadonlySet<EventType> = new Set([
  'withdrawal.broadcast',
  'withdrawal.completed',
  'withdrawal.cancelled',
  'withdrawal.rejected',
]);
