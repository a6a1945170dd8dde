import { open, seal } from '../adapters/secret-box.ts';
import { checkWebhookUrl, type WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import { newWebhookSecret } from '../adapters/webhooks/signing.ts';
import { DomainError, invalidInput, notFound } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { WebhookEndpointsTable } from '../store/schema-notifications.ts';
import { inTransaction } from '../store/transaction.ts';
import {
  countActiveWebhookEndpoints,
  insertWebhookEndpoint,
  listWebhookEndpoints as listEndpointRows,
  lockWebhookEndpoint,
  MAX_WEBHOOK_ENDPOINTS,
  updateWebhookEndpoint,
  type WebhookEndpointRow,
} from '../store/webhooks.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';

/** After a rotation the old secret still signs for this long, so receivers can switch without losing events. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60_000;
const MAX_EVENT_TYPES = 50;
const EVENT_NAME = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){1,3}$/;

export function parseEventTypes(input: unknown): '*' | string[] {
  if (input === '*') return '*';
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_EVENT_TYPES) {
    throw invalidInput('events', `must be "*" or a list of 1..${MAX_EVENT_TYPES} event names`);
  }
  const events = new Set<string>();
  for (const event of input) {
    if (event === '*') throw invalidInput('events', '"*" stands alone, not in a list');
    if (typeof event !== 'string' || !EVENT_NAME.test(event)) {
      throw invalidInput('events', `${JSON.stringify(event)} is not an event name (like account.locked)`);
    }
    events.add(event);
  }
  return [...events].sort();
}

export function eventTypesOf(row: WebhookEndpointRow): '*' | string[] {
  return row.event_types === '*' ? '*' : (JSON.parse(row.event_types) as string[]);
}

export function subscribes(row: WebhookEndpointRow, event: string): boolean {
  const types = eventTypesOf(row);
  return types === '*' || types.includes(event);
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
  const url = checkWebhookUrl(policy, input.url);
  const events = parseEventTypes(input.events);
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
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw invalidInput('id', 'is not an id');
  return id;
}
