import type { IdempotencyKeysTable } from './schema.ts';
import type { Tx } from './transaction.ts';

export type IdempotencyKeyRow = Readonly<IdempotencyKeysTable>;

export async function findIdempotencyKey(
  tx: Tx,
  scope: string,
  key: string,
): Promise<IdempotencyKeyRow | undefined> {
  return tx
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function deleteIdempotencyKey(tx: Tx, scope: string, key: string): Promise<void> {
  await tx.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).execute();
}

/**
 * Reserves a key for a request still running (status_code 0, no response). The primary key settles a race between
 * two first attempts: the loser's insert fails.
 */
export async function reserveIdempotencyKey(
  tx: Tx,
  scope: string,
  key: string,
  requestHash: string,
  now: string,
): Promise<void> {
  await tx
    .insertInto('idempotency_keys')
    .values({ scope, key, request_hash: requestHash, status_code: 0, response: '', created_at: now })
    .execute();
}

/** Records a reserved key's answer (`response` '' when the answer is not kept). */
export async function recordIdempotencyResponse(
  tx: Tx,
  scope: string,
  key: string,
  statusCode: number,
  response: string,
): Promise<void> {
  await tx
    .updateTable('idempotency_keys')
    .set({ status_code: statusCode, response })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}
