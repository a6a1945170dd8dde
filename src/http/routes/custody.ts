import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TXID } from '../../adapters/custody/custody-transport.ts';
import { verifyCustodyCallback } from '../../adapters/custody/webhook-signer.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { isUuid } from '../../core/ids.ts';
import type { ServiceContext } from '../../services/context.ts';
import { type CustodyCallback, receiveCustodyCallback } from '../../services/custody/callbacks.ts';
import { PROBLEM_RESPONSES, ProblemSchema } from '../schemas.ts';

/** A callback is three short fields; the Standard Webhooks advice for any webhook is under 20 KB. */
const CALLBACK_BODY_LIMIT = 16 * 1024;
const STATUSES = ['broadcast', 'confirmed', 'failed'] as const;
const FIELDS = new Set(['withdrawal_id', 'status', 'txid']);

const Accepted = Type.Object({
  withdrawal_id: Type.String(),
  status: Type.String({ enum: [...STATUSES] }),
  txid: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String({
    enum: ['applied', 'unchanged'],
    description: 'applied: the report moved what Drawbridge knows; unchanged: it knew this already',
  }),
});

/**
 * Signed status callbacks from the integrator's custody signer (only when CUSTODY_SIGNER=webhook). The route is
 * authenticated by its Standard Webhooks signature under the callback secret and by nothing else: sessions,
 * cookies and bearer tokens are ignored, so no customer or operator session reaches it. The signature is checked
 * over the exact bytes received, before the body is even parsed.
 */
export function registerCustodyRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  options: { callbackSecret: string },
): void {
  app.register(async (scope) => {
    // The raw body: the signature covers these bytes, not a re-serialisation of them.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      '/v1/custody/callbacks',
      {
        bodyLimit: CALLBACK_BODY_LIMIT,
        schema: {
          tags: ['custody'],
          summary: "Status callback from the integrator's custody signer (Standard Webhooks signature)",
          description:
            'Body `{"withdrawal_id", "status": "broadcast" | "confirmed" | "failed", "txid"}` (txid required ' +
            'with broadcast and confirmed), signed with webhook-id, webhook-timestamp and webhook-signature ' +
            'under CUSTODY_CALLBACK_SECRET. The same webhook-id and body again gets the first answer and ' +
            'changes nothing; another body under a used webhook-id is a 409. A report moving status backwards ' +
            'or changing a known txid is a 409, recorded and audited.',
          security: [],
          response: { 200: Accepted, 413: ProblemSchema, 415: ProblemSchema, ...PROBLEM_RESPONSES },
        },
      },
      async (request, reply) => {
        const raw = typeof request.body === 'string' ? request.body : '';
        const verified = verifyCustodyCallback(options.callbackSecret, raw, request.headers);
        if (!verified.ok) {
          throw new DomainError('UNAUTHENTICATED', `custody callback refused: ${verified.reason}`);
        }
        const callback = parseCallback(raw);
        const answer = await receiveCustodyCallback(context, {
          webhookId: verified.webhookId,
          bodyHash: createHash('sha256').update(raw, 'utf8').digest('hex'),
          callback,
        });
        if (answer.replayed) reply.header('idempotent-replayed', 'true');
        if (!answer.ok) {
          throw new DomainError(answer.code, answer.reason, {
            details: { withdrawal_id: callback.withdrawal_id },
          });
        }
        return answer.answer;
      },
    );
  });
}

/** The callback's fields, or a 400 naming the one at fault. Unknown fields are refused, not ignored. */
function parseCallback(raw: string): CustodyCallback {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw invalidInput('body', 'is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInput('body', 'must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) throw invalidInput(`body.${key.slice(0, 64)}`, 'is not a known field');
  }
  const { withdrawal_id: withdrawalId, status, txid } = fields;
  // Checked by its shape, like every id at the edge: a NUL in it is a 400 here, not a database error.
  if (typeof withdrawalId !== 'string' || !isUuid(withdrawalId)) {
    throw invalidInput('body.withdrawal_id', 'must be a withdrawal id (a lowercase UUID)');
  }
  if (typeof status !== 'string' || !(STATUSES as readonly string[]).includes(status)) {
    throw invalidInput('body.status', `must be one of ${STATUSES.join(', ')}`);
  }
  if (txid !== undefined && (typeof txid !== 'string' || !TXID.test(txid))) {
    throw invalidInput('body.txid', 'must be a txid (1 to 128 letters, digits or : _ . -)');
  }
  if (txid === undefined && status !== 'failed') {
    throw invalidInput('body.txid', `is required with ${status}`);
  }
  return {
    withdrawal_id: withdrawalId,
    status: status as CustodyCallback['status'],
    ...(txid === undefined ? {} : { txid }),
  };
}
