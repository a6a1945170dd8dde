import { open, seal } from '../adapters/secret-box.ts';
import { checkWebhookUrl, type WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import { newWebhookSecret } from '../adapters/webhooks/signing.ts';
import { assert, DomainError, invalidInput, notFound } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { parseIdField, parsePage } from '../core/list-query.ts';
import { type EventType, isEventType } from '../core/notifications/event-types.ts';
import { quoteInput } from '../core/quote-input.ts';
import { queueOutbox } from '../store/outbox.ts';
import type { WebhookEndpointsTable } from '../store/schema-notifications.ts';
import { inTransaction } from '../store/transaction.ts';
import {
  countActiveWebhookEndpoints,
  findWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookEndpoints as listEndpointRows,
  lockWebhookEndpoint,
  MAX_WEBHOOK_ENDPOINTS,
  updateWebhookEndpoint,
  type WebhookEndpointRow,
  webhookDeliveries,
} from '../store/webhooks.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';
import { eventTypesOf, webhookEventRows } from './webhook-events.ts';

/** After a rotation the old secret still signs for this long, so receivers can switch without losing events. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60_000;
const MAX_EVENT_TYPES = 50;

/** A subscription: "*" or names from the catalogue (src/core/notifications/event-types.ts), each at most once. */
export function parseEventTypes(input: unknown): '*' | EventType[] {
  if (input === '*') return '*';
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_EVENT_TYPES) {
    throw invalidInput('events', `must be "*" or a list of 1..${MAX_EVENT_TYPES} event types`);
  }
  const events = new Set<EventType>();
  for (const [index, event] of input.entries()) {
    if (event === '*') throw invalidInput(`events/${index}`, '"*" stands alone, not in a list');
    if (!isEventType(event)) {
      throw invalidInput(
        `events/${index}`,
        `${quoteInput(event)} is not an event type; GET /v1/webhook-event-types lists them`,
      );
    }
    events.add(event);
  }
  return [...events].sort();
}

/** The associated data that binds a sealed secret to its endpoint row. */
export function secretAssociatedData(endpointId: string): string {
  return `webhook-secret/${endpointId}`;
}

/** The secrets to sign with at `now`: the current one, and the previous one while the rotation overlaps. */
export function signingSecrets(key: Buffer, row: WebhookEndpointRow, now: Date): string[] {
  const ad = secretAssociatedData(row.id);
  const secrets = [open(key, row.secret_current, ad).toString('utf8')];
  if (row.secret_previous !== null && row.previous_valid_until !== null) {
    if (now.toISOString() < row.previous_valid_until) {
      secrets.push(open(key, row.secret_previous, ad).toString('utf8'));
    }
  }
  return secrets;
}

function publicView(row: WebhookEndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: eventTypesOf(row),
    status: row.status,
    created_at: row.created_at,
    rotated_at: row.rotated_at,
    previous_secret_valid_until: row.previous_valid_until,
    disabled_at: row.disabled_at,
  };
}

export type WebhookEndpointView = ReturnType<typeof publicView>;

/** Registers a receiver. The signing secret is shown in this answer only; at rest it is sealed. */
export async function createWebhookEndpoint(
  context: ServiceContext,
  actor: OperatorActor,
  policy: WebhookDestinationPolicy,
  input: { url?: unknown; events?: unknown },
) {
  authorize(actor, 'webhook.manage');
  const events = parseEventTypes(input.events);
  const url = checkWebhookUrl(policy, input.url);
  const secret = newWebhookSecret();
  return inTransaction(context.database, async (tx) => {
    if ((await countActiveWebhookEndpoints(tx)) >= MAX_WEBHOOK_ENDPOINTS) {
      throw new DomainError('LIMIT_REACHED', `at most ${MAX_WEBHOOK_ENDPOINTS} active webhook endpoints`);
    }
    const id = newId();
    const now = context.clock.now().toISOString();
    const row: WebhookEndpointsTable = {
      id,
      url,
      event_types: events === '*' ? '*' : JSON.stringify(events),
      secret_current: seal(context.totpKey, secret, secretAssociatedData(id)),
      secret_previous: null,
      previous_valid_until: null,
      rotated_at: null,
      status: 'active',
      created_at: now,
      disabled_at: null,
    };
    await insertWebhookEndpoint(tx, row);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'webhook.created',
      subject: `webhook:${id}`,
      data: { url, events },
    });
    return { ...publicView(row), secret };
  });
}

export async function listWebhookEndpoints(context: ServiceContext, actor: OperatorActor) {
  authorize(actor, 'webhook.list');
  const rows = await listEndpointRows(context.database);
  return { endpoints: rows.map(publicView) };
}

/**
 * A new signing secret, shown once. The old one keeps signing beside it (both signatures in
 * `webhook-signature`) for ROTATION_OVERLAP_MS; a second rotation inside that window drops the oldest.
 */
export async function rotateWebhookSecret(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'webhook.manage');
  const endpointId = parseEndpointId(id);
  const secret = newWebhookSecret();
  return inTransaction(context.database, async (tx) => {
    const row = await lockWebhookEndpoint(tx, endpointId);
    if (row === undefined) throw notFound('webhook endpoint', endpointId);
    if (row.status !== 'active') {
      throw new DomainError('WRONG_STATE', 'a disabled endpoint keeps its secrets', { field: 'id' });
    }
    const now = context.clock.now();
    const ad = secretAssociatedData(row.id);
    const validUntil = new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString();
    const changes = {
      secret_current: seal(context.totpKey, secret, ad),
      secret_previous: row.secret_current,
      previous_valid_until: validUntil,
      rotated_at: now.toISOString(),
    };
    await updateWebhookEndpoint(tx, row.id, changes);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'webhook.secret_rotated',
      subject: `webhook:${row.id}`,
      data: { previous_valid_until: validUntil },
    });
    return { ...publicView({ ...row, ...changes }), secret };
  });
}

/** Stops deliveries to an endpoint; messages still queued for it fail instead of going out. */
export async function disableWebhookEndpoint(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'webhook.manage');
  const endpointId = parseEndpointId(id);
  return inTransaction(context.database, async (tx) => {
    const row = await lockWebhookEndpoint(tx, endpointId);
    if (row === undefined) throw notFound('webhook endpoint', endpointId);
    if (row.status === 'disabled') return publicView(row);
    const changes = { status: 'disabled' as const, disabled_at: context.clock.now().toISOString() };
    await updateWebhookEndpoint(tx, row.id, changes);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'webhook.disabled',
      subject: `webhook:${row.id}`,
      data: { url: row.url },
    });
    return publicView({ ...row, ...changes });
  });
}

function parseEndpointId(id: unknown): string {
  return parseIdField('id', id);
}

export const DELIVERY_PAGE_MAX = 100;

/**
 * What was sent to an endpoint, newest first, a page at a time (`starting_after`: the last delivery id of the page
 * before): each delivery's event, status, attempts and last error. The attempts themselves are in the delivery log.
 */
export async function listWebhookDeliveries(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  input: { limit?: unknown; starting_after?: unknown } = {},
) {
  authorize(actor, 'webhook.list');
  const endpointId = parseEndpointId(id);
  const { limit, startingAfter: after } = parsePage(input, { default: 25, max: DELIVERY_PAGE_MAX });
  if ((await findWebhookEndpoint(context.database, endpointId)) === undefined) {
    throw notFound('webhook endpoint', endpointId);
  }
  const rows = await webhookDeliveries(context.database, endpointId, limit + 1, after);
  return {
    deliveries: rows.slice(0, limit).map((row) => ({
      id: row.id,
      event_id: eventIdOf(row.payload),
      type: row.event,
      status: row.status,
      attempts: Number(row.attempts),
      next_attempt_at: row.status === 'pending' ? row.next_attempt_at : null,
      delivered_at: row.delivered_at,
      last_error: row.last_error,
      created_at: row.created_at,
    })),
    has_more: rows.length > limit,
  };
}

function eventIdOf(payload: string): string | null {
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/**
 * Queues a `webhook.test` event to one active endpoint, whatever it subscribes to, so an integrator can check their
 * receiver and its signature check end to end. Returns the delivery to follow in the endpoint's deliveries.
 */
export async function sendTestWebhookEvent(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'webhook.manage');
  const endpointId = parseEndpointId(id);
  return inTransaction(context.database, async (tx) => {
    const row = await findWebhookEndpoint(tx, endpointId);
    if (row === undefined) throw notFound('webhook endpoint', endpointId);
    if (row.status !== 'active') {
      throw new DomainError('WRONG_STATE', 'a disabled endpoint receives nothing, tests included', {
        field: 'id',
      });
    }
    const [delivery] = webhookEventRows(context, [{ ...row, event_types: '*' }], {
      event: 'webhook.test',
      accountId: null,
      payload: { endpoint_id: row.id, requested_by: actorName(actor) },
    });
    assert(delivery !== undefined, 'a test event has one delivery');
    await queueOutbox(tx, [delivery]);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'webhook.test_sent',
      subject: `webhook:${row.id}`,
      data: { delivery_id: delivery.id },
    });
    return { delivery_id: delivery.id, event_id: eventIdOf(delivery.payload), type: 'webhook.test' as const };
  });
}
