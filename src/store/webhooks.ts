import { compiledOnce, engineOf, rowsOf } from './compiled-query.ts';
import type { WebhookEndpointsTable } from './schema-notifications.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';

export type WebhookEndpointRow = Readonly<WebhookEndpointsTable>;

/** A list a person reads: more endpoints than this is a misconfiguration, not a use case. */
export const MAX_WEBHOOK_ENDPOINTS = 100;

export async function insertWebhookEndpoint(tx: Tx, row: WebhookEndpointsTable): Promise<void> {
  await tx.insertInto('webhook_endpoints').values(row).execute();
}

export async function findWebhookEndpoint(
  on: Queryable,
  id: string,
): Promise<WebhookEndpointRow | undefined> {
  return queryable(on).selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Reads an endpoint and, on PostgreSQL, holds its row so two rotations cannot interleave. */
export async function lockWebhookEndpoint(tx: Tx, id: string): Promise<WebhookEndpointRow | undefined> {
  const query = tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  return (engineOf(tx) === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}

export async function listWebhookEndpoints(on: Queryable): Promise<WebhookEndpointRow[]> {
  return queryable(on)
    .selectFrom('webhook_endpoints')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .limit(MAX_WEBHOOK_ENDPOINTS)
    .execute();
}

export async function countActiveWebhookEndpoints(tx: Tx): Promise<number> {
  const row = await tx
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function activeWebhookEndpoints(tx: Tx): Promise<WebhookEndpointRow[]> {
  return rowsOf(tx, activeWebhookEndpointsQuery(tx));
}

export function activeWebhookEndpointsQuery(tx: Tx) {
  return selectActiveEndpoints.statement(tx);
}

const selectActiveEndpoints = compiledOnce(0, (tx: Tx) =>
  tx
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('status', '=', 'active')
    .orderBy('id')
    .limit(MAX_WEBHOOK_ENDPOINTS),
);

export async function updateWebhookEndpoint(
  tx: Tx,
  id: string,
  changes: Partial<Omit<WebhookEndpointsTable, 'id' | 'created_at'>>,
): Promise<void> {
  await tx.updateTable('webhook_endpoints').set(changes).where('id', '=', id).execute();
}

/**
 * An endpoint's deliveries, newest first: `limit` rows after `startingAfter` (an outbox id of the page before; ids
 * are time-ordered). The caller asks for one more than it shows to know whether more remain.
 */
export async function webhookDeliveries(
  on: Queryable,
  endpointId: string,
  limit: number,
  startingAfter: string | undefined,
) {
  let query = queryable(on)
    .selectFrom('outbox')
    .select([
      'id',
      'event',
      'payload',
      'status',
      'attempts',
      'next_attempt_at',
      'delivered_at',
      'last_error',
      'created_at',
    ])
    .where('channel', '=', 'webhook')
    .where('recipient', '=', endpointId);
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
  return query.orderBy('id', 'desc').limit(limit).execute();
}
