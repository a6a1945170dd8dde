import { assert } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { EventType } from '../core/notifications/event-types.ts';
import { queueOutbox } from '../store/outbox.ts';
import type { OutboxTable } from '../store/schema-identity.ts';
import type { Tx } from '../store/transaction.ts';
import { activeWebhookEndpoints, type WebhookEndpointRow } from '../store/webhooks.ts';
import type { ServiceContext } from './context.ts';

/** What an endpoint subscribes to: "*" or a list of event types. */
export function eventTypesOf(row: WebhookEndpointRow): '*' | string[] {
  return row.event_types === '*' ? '*' : (JSON.parse(row.event_types) as string[]);
}

export function subscribes(row: WebhookEndpointRow, event: string): boolean {
  const types = eventTypesOf(row);
  return types === '*' || types.includes(event);
}

/** The Standard Webhooks advice is under 20 KB; an event carries ids and facts, not documents. */
const MAX_BODY_BYTES = 16 * 1024;

export interface WebhookEvent {
  readonly event: EventType;
  readonly accountId: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The event's id (the same at every endpoint; each delivery has its own `webhook-id`); new if not given. */
  readonly id?: string;
  /** When it happened; now if not given. */
  readonly createdAt?: string;
}

/**
 * Queues `event` for every active endpoint subscribed to it: one outbox row each, in the caller's transaction, so
 * the webhook exists if and only if the event committed. The body is serialised here, once, so every retry sends
 * (and signs) the same bytes; the outbox id is the `webhook-id` receivers deduplicate on.
 */
export async function enqueueWebhookEvent(
  tx: Tx,
  context: ServiceContext,
  input: WebhookEvent,
): Promise<readonly string[]> {
  const rows = webhookEventRows(context, await activeWebhookEndpoints(tx), input);
  await queueOutbox(tx, rows);
  return rows.map((row) => row.id);
}

/** The outbox rows of `event` for those of `active` endpoints subscribed to it, for a caller that batches. */
export function webhookEventRows(
  context: ServiceContext,
  active: readonly WebhookEndpointRow[],
  input: WebhookEvent,
): OutboxTable[] {
  const endpoints = active.filter((e) => subscribes(e, input.event));
  const now = context.clock.now().toISOString();
  // One body for every endpoint: the event is the same wherever it goes.
  const body = JSON.stringify({
    id: input.id ?? newId(),
    type: input.event,
    created_at: input.createdAt ?? now,
    data: { ...input.payload, account_id: input.accountId },
  });
  assert(Buffer.byteLength(body) <= MAX_BODY_BYTES, `webhook body for ${input.event} exceeds 16 KiB`);
  const rows: OutboxTable[] = [];
  for (const endpoint of endpoints) {
    const id = newId();
    const row: OutboxTable = {
      id,
      channel: 'webhook',
      recipient: endpoint.id,
      account_id: input.accountId,
      event: input.event,
      // Webhooks go to the platform, not to a customer: preferences never apply to them.
      security: 1,
      subject: input.event,
      body_text: '',
      body_html: '',
      payload: body,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      delivered_at: null,
      last_error: null,
      created_at: now,
    };
    rows.push(row);
  }
  return rows;
}
