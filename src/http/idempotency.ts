import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, invalidInput } from '../core/errors.ts';
import type { ServiceContext } from '../services/context.ts';
import {
  deleteIdempotencyKey,
  findIdempotencyKey,
  recordIdempotencyResponse,
  reserveIdempotencyKey,
} from '../store/idempotency.ts';
import { inTransaction } from '../store/transaction.ts';

/**
 * Idempotency-Key on every mutating call (DESIGN invariant 11): the first request with a key runs and its 2xx
 * answer is kept for 24 h; a retry with the same key and body gets that answer again (with
 * `idempotent-replayed: true`); the same key with another body is refused (422); a retry while the first is
 * still running gets 409. Answers that carry secrets (new sessions, TOTP secrets, recovery codes, step-up
 * tokens) are not stored: their retry is told the action already happened.
 *
 * The record is written after the handler's own transaction, so a crash between the two leaves a reservation
 * that expires after IN_PROGRESS_EXPIRY_MS; money-moving services are idempotent in their own transaction too.
 */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const IN_PROGRESS_EXPIRY_MS = 60_000;
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60_000;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | undefined;
  }
  interface FastifyContextConfig {
    /** false for answers that carry a secret: the key is honoured but the answer is not kept. */
    idempotencyStoresResponse?: boolean;
  }
}

export function installIdempotency(app: FastifyInstance, context: ServiceContext): void {
  app.decorateRequest('idempotency', undefined);
  app.addHook('onSend', async (request, reply, payload) => {
    const reservation = request.idempotency;
    if (reservation === undefined) return payload;
    request.idempotency = undefined;
    await settle(context, request, reply, reservation, payload);
    return payload;
  });
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.url}\n${canonicalize(request.body ?? null) ?? ''}`)
    .digest('hex');
}

/**
 * Called once the caller is known (after authentication). Returns true when the request must stop here
 * because a stored answer was sent.
 */
export async function reserveIdempotency(
  context: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: string,
): Promise<boolean> {
  const header = request.headers['idempotency-key'];
  if (header === undefined || !MUTATING.has(request.method)) return false;
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
    throw invalidInput('Idempotency-Key', 'must be 1..255 printable ASCII characters');
  }
  const key = header;
  const hash = requestHash(request);
  const now = context.clock.now();
  const existing = await inTransaction(context.database, async (tx) => {
    const row = await findIdempotencyKey(tx, scope, key);
    const abandoned =
      row !== undefined &&
      ((row.status_code === 0 && Date.parse(row.created_at) + IN_PROGRESS_EXPIRY_MS <= now.getTime()) ||
        Date.parse(row.created_at) + IDEMPOTENCY_RETENTION_MS <= now.getTime());
    if (row !== undefined && !abandoned) return row;
    if (abandoned) await deleteIdempotencyKey(tx, scope, key);
    // The primary key settles a race between two first attempts: the loser sees the winner's row next time.
    await reserveIdempotencyKey(tx, scope, key, hash, now.toISOString());
    return undefined;
  });
  if (existing === undefined) {
    request.idempotency = { scope, key };
    return false;
  }
  if (existing.request_hash !== hash) {
    throw new DomainError('IDEMPOTENCY_MISMATCH', 'this Idempotency-Key was used with a different request', {
      field: 'Idempotency-Key',
    });
  }
  if (existing.status_code === 0) {
    throw new DomainError(
      'IDEMPOTENCY_IN_PROGRESS',
      'a request with this Idempotency-Key is still being processed',
      {
        field: 'Idempotency-Key',
        details: { retry_after_s: 1 },
      },
    );
  }
  if (existing.response === '') {
    throw new DomainError(
      'CONFLICT',
      'this request already succeeded; its answer carried a secret and was not kept',
      {
        field: 'Idempotency-Key',
      },
    );
  }
  const stored = JSON.parse(existing.response) as { content_type: string; body: string };
  await reply
    .status(existing.status_code)
    .header('idempotent-replayed', 'true')
    .type(stored.content_type)
    .send(stored.body);
  return true;
}

async function settle(
  context: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
  reservation: { scope: string; key: string },
  payload: unknown,
): Promise<void> {
  const status = reply.statusCode;
  await inTransaction(context.database, async (tx) => {
    if (status < 200 || status >= 300) {
      // Nothing happened (or we cannot tell): let a retry run again.
      await deleteIdempotencyKey(tx, reservation.scope, reservation.key);
      return;
    }
    const keep = request.routeOptions.config.idempotencyStoresResponse !== false;
    const contentType = String(reply.getHeader('content-type') ?? 'application/json');
    const body =
      typeof payload === 'string'
        ? payload
        : payload === null || payload === undefined
          ? ''
          : String(payload);
    await recordIdempotencyResponse(
      tx,
      reservation.scope,
      reservation.key,
      status,
      keep ? JSON.stringify({ content_type: contentType, body }) : '',
    );
  });
}
