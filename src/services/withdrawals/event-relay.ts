import { formatAmount, getAsset } from '../../core/money/index.ts';
import {
  CUSTOMER_WITHDRAWAL_EMAILS,
  type EventType,
  withdrawalEventTypes,
} from '../../core/notifications/event-types.ts';
import type { RuleResult } from '../../core/risk/screening.ts';
import type { WithdrawalState } from '../../core/withdrawals/states.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { queueOutbox } from '../../store/outbox.ts';
import { inTransaction } from '../../store/transaction.ts';
import { activeWebhookEndpoints } from '../../store/webhooks.ts';
import {
  claimUnrelayedEvents,
  markEventsRelayed,
  type UnrelayedEvent,
} from '../../store/withdrawal-events.ts';
import type { ServiceContext } from '../context.ts';
import { type Notice, notifyPrincipal } from '../notify.ts';
import { webhookEventRows } from '../webhook-events.ts';

/** Events told per transaction; a full batch means more are waiting and the relay goes on at once. */
export const RELAY_BATCH = 200;

const OUTCOME_OF: Partial<Record<WithdrawalState, string>> = {
  queued: 'approve',
  time_locked: 'time_lock',
  held_for_review: 'review',
  rejected: 'reject',
};

/**
 * Tells integrators and customers what happened to withdrawals, from the withdrawal event log (which the state
 * moves write in their own transactions, so the hot path pays nothing for this): each event becomes its webhook
 * events (src/core/notifications/event-types.ts) for every subscribed endpoint, and the customer's email for those
 * a customer cares about, in one transaction with marking the events relayed. An event is told once, or not at all
 * if this transaction rolls back (it is then told on the next round). Returns how many events it relayed.
 */
export async function relayWithdrawalEvents(
  context: ServiceContext,
  /** Told each event once its batch committed (the domain log). */
  onTold?: (type: EventType, data: Readonly<Record<string, unknown>>) => void,
): Promise<number> {
  let relayed = 0;
  for (;;) {
    let told: [EventType, Record<string, unknown>][] = [];
    const count = await inTransaction(context.database, async (tx) => {
      const events = await claimUnrelayedEvents(tx, RELAY_BATCH);
      if (events.length === 0) return 0;
      const endpoints = await activeWebhookEndpoints(tx);
      told = events.flatMap((event) =>
        withdrawalEventTypes(event.from_state, event.to_state).map(
          (type) =>
            [type, { ...eventData(type, event), account_id: event.account_id }] as [
              EventType,
              Record<string, unknown>,
            ],
        ),
      );
      const rows = events.flatMap((event) =>
        withdrawalEventTypes(event.from_state, event.to_state).flatMap((type) =>
          webhookEventRows(context, endpoints, {
            id: type === 'withdrawal.screened' ? `${event.event_id}.screened` : event.event_id,
            event: type,
            accountId: event.account_id,
            createdAt: event.at,
            payload: eventData(type, event),
          }),
        ),
      );
      for (const event of events) {
        const type = withdrawalEventTypes(event.from_state, event.to_state).at(-1);
        if (type === undefined || !CUSTOMER_WITHDRAWAL_EMAILS.has(type)) continue;
        const principal = await findPrincipal(tx, event.account_id);
        if (principal !== undefined)
          await notifyPrincipal(tx, context, principal, customerNotice(type, event));
      }
      await queueOutbox(tx, rows);
      await markEventsRelayed(
        tx,
        events.map((event) => event.event_id),
        context.clock.now().toISOString(),
      );
      return events.length;
    });
    if (onTold !== undefined) for (const [type, data] of told) onTold(type, data);
    relayed += count;
    if (count < RELAY_BATCH) return relayed;
  }
}

/** What an integrator is told: the withdrawal's facts in the asset's unit, and what this event adds. */
export function eventData(type: EventType, event: UnrelayedEvent): Record<string, unknown> {
  const asset = getAsset(event.asset);
  const data: Record<string, unknown> = {
    withdrawal_id: event.withdrawal_id,
    asset: event.asset,
    network: event.network,
    amount: formatAmount(BigInt(event.amount), asset),
    fee: formatAmount(BigInt(event.fee), asset),
    destination: event.destination_address,
    destination_label: event.destination_label,
    state: event.to_state,
    previous_state: event.from_state,
    by: event.actor,
    reason: event.reason,
  };
  if (type === 'withdrawal.screened') {
    data.outcome = OUTCOME_OF[event.to_state] ?? 'review';
    data.rules = rulesOf(event.screening);
  }
  if (type === 'withdrawal.queued') data.release_after = event.release_after;
  if (type === 'withdrawal.time_locked') data.time_locked_until = event.time_locked_until;
  if (event.txid !== null && ['broadcast', 'completed', 'errored'].includes(event.to_state))
    data.txid = event.txid;
  return data;
}

function rulesOf(screening: string | null): { rule: string; outcome: string; reason: string }[] {
  if (screening === null) return [];
  try {
    const results = JSON.parse(screening) as RuleResult[];
    return results.map((r) => ({ rule: r.rule, outcome: r.outcome, reason: r.reason }));
  } catch {
    return [];
  }
}

function customerNotice(type: EventType, event: UnrelayedEvent): Notice {
  const asset = getAsset(event.asset);
  const what = `${formatAmount(BigInt(event.amount), asset)} ${event.asset} to ${event.destination_label} (${event.destination_address})`;
  switch (type) {
    case 'withdrawal.broadcast':
      return {
        event: type,
        headline: `Your withdrawal of ${what} was sent`,
        lines: [`Network: ${event.network}.`, `Transaction: ${event.txid ?? 'not reported yet'}.`],
        security: false,
      };
    case 'withdrawal.completed':
      return {
        event: type,
        headline: `Your withdrawal of ${what} is complete`,
        lines: [`Transaction: ${event.txid ?? 'not reported'} (confirmed on ${event.network}).`],
        security: false,
      };
    case 'withdrawal.cancelled':
      return {
        event: type,
        headline: `Your withdrawal of ${what} was cancelled`,
        lines: [
          `Why: ${event.reason ?? 'cancelled'}.`,
          'The funds are back in your available balance.',
          'If you did not cancel it, lock your account with the link below and contact support.',
        ],
      };
    default:
      return {
        event: type,
        headline: `Your withdrawal of ${what} was rejected`,
        lines: [
          'Our security checks stopped it; the funds are back in your available balance.',
          'Contact support if you did not expect this.',
        ],
      };
  }
}
