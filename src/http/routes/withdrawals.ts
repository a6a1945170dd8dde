import { createPublicKey } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { keyId } from '../../core/withdrawals/attestation.ts';
import type { ServiceContext } from '../../services/context.ts';
import { balancesOf } from '../../services/deposits.ts';
import { cancelWithdrawal } from '../../services/withdrawals/cancel.ts';
import { confirmWithdrawal, withdrawalPasskeyChallenge } from '../../services/withdrawals/confirm.ts';
import { getWithdrawal, listMyWithdrawals, type WithdrawalQuery } from '../../services/withdrawals/query.ts';
import { requestWithdrawal } from '../../services/withdrawals/request.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, ProofSchema, SECURITY, WithdrawalListQuery } from '../schemas.ts';

export const WithdrawalSchema = Type.Object(
  {
    id: Type.String(),
    state: Type.String(),
    asset: Type.String(),
    network: Type.String(),
    amount: Type.String({ description: 'decimal string in the asset unit' }),
    fee: Type.String(),
    destination_id: Type.String(),
    destination: Type.String(),
    destination_label: Type.String(),
    summary: Type.String({ description: 'built from server state only: what the customer approves' }),
    digest: Type.String({
      description: 'SHA-256 over "drawbridge/withdrawal/v1\\n" + RFC 8785 JSON of the terms',
    }),
    nonce: Type.String(),
    expires_at: Type.String(),
    release_after: Type.Union([Type.String(), Type.Null()]),
    time_locked_until: Type.Union([Type.String(), Type.Null()]),
    txid: Type.Union([Type.String(), Type.Null()]),
    usd_value: Type.Union([Type.String(), Type.Null()], {
      description: 'its USD value when confirmed (exact), at the price point screening used; null before',
    }),
    reason: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
    updated_at: Type.String(),
    history: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: false },
);

/** A new withdrawal, with what will make it wait once confirmed (core/withdrawals/request-checks.ts). */
const RequestedWithdrawalSchema = Type.Composite([
  WithdrawalSchema,
  Type.Object({
    warnings: Type.Array(
      Type.Object({
        code: Type.Union([Type.Literal('destination_cooling'), Type.Literal('withdrawals_halted')]),
        detail: Type.String(),
        usable_at: Type.Optional(Type.String({ format: 'date-time' })),
        halt_id: Type.Optional(Type.String()),
        scope: Type.Optional(Type.String()),
      }),
      {
        description:
          'What will make the withdrawal wait after it is confirmed: a destination still cooling (time-locked until usable_at) or a halt covering it (queued until lifted). Empty when nothing will.',
      },
    ),
  }),
]);

export function registerWithdrawalRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/.well-known/drawbridge-release-key',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'The Ed25519 public key that signs release attestations (for custody signers)',
        response: {
          200: Type.Object({
            alg: Type.Literal('Ed25519'),
            key_id: Type.String(),
            public_key_pem: Type.String(),
          }),
        },
      },
    },
    async () => {
      const publicKey = createPublicKey(context.releaseKey);
      return {
        alg: 'Ed25519' as const,
        key_id: keyId(publicKey),
        public_key_pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      };
    },
  );

  app.get(
    '/v1/balances',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'My balances: available and held, per asset',
        security: SECURITY,
        response: {
          200: Type.Object({
            balances: Type.Array(
              Type.Object({ asset: Type.String(), available: Type.String(), held: Type.String() }),
            ),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => balancesOf(context, authOf(request).principalId),
  );

  app.post(
    '/v1/withdrawals',
    {
      schema: {
        tags: ['withdrawals'],
        summary:
          'Request a withdrawal to an address-book entry; it waits for a bound confirmation (CONFIRMATION_WINDOW_SECONDS, 5 min)',
        security: SECURITY,
        body: Body({
          asset: Type.String({ maxLength: 16 }),
          network: Type.String({ maxLength: 32 }),
          amount: Type.String({ maxLength: 64, description: 'decimal string, e.g. "0.25"' }),
          destination_id: Id,
        }),
        response: { 201: RequestedWithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await requestWithdrawal(
            context,
            authOf(request),
            request.body as Record<string, unknown>,
            requestMeta(request),
          ),
        ),
  );

  app.get(
    '/v1/withdrawals',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'My withdrawals, newest first',
        description:
          'Filter by `state`, `asset` and creation time (`created_from` inclusive, `created_until` exclusive, ' +
          'ISO-8601); page with `limit` (1-200, default 50) and `starting_after` (the last id of the page before). ' +
          '`has_more` says whether another page follows.',
        security: SECURITY,
        querystring: WithdrawalListQuery,
        response: {
          200: Type.Object({ withdrawals: Type.Array(WithdrawalSchema), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => listMyWithdrawals(context, authOf(request), request.query as WithdrawalQuery),
  );

  app.get(
    '/v1/withdrawals/:id',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'One withdrawal with its full state history',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) => getWithdrawal(context, authOf(request), (request.params as { id: string }).id),
  );

  app.post(
    '/v1/withdrawals/:id/passkey-challenge',
    {
      schema: {
        tags: ['withdrawals'],
        summary: "A WebAuthn challenge derived from this withdrawal's digest, to confirm it with a passkey",
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: {
          200: Type.Object({
            challenge_id: Type.String(),
            expires_at: Type.String(),
            options: Type.Unknown(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      config: { idempotencyStoresResponse: false },
      ...customer,
    },
    async (request) =>
      withdrawalPasskeyChallenge(context, authOf(request), (request.params as { id: string }).id),
  );

  app.post(
    '/v1/withdrawals/:id/confirm',
    {
      schema: {
        tags: ['withdrawals'],
        summary:
          'Confirm with a second factor bound to this withdrawal: proof stored, hold placed, screening run',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ proof: ProofSchema }),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) =>
      confirmWithdrawal(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        request.body as { proof: unknown },
        requestMeta(request),
      ),
  );

  app.post(
    '/v1/withdrawals/:id/cancel',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'Cancel before release; the hold is voided',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ reason: Type.Optional(Type.String({ maxLength: 500 })) }),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      // A cancel usually comes without a body: that is an empty one. A body with unknown fields is refused.
      preValidation: async (request) => {
        request.body ??= {};
      },
      ...customer,
    },
    async (request) =>
      cancelWithdrawal(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        request.body as { reason?: string },
      ),
  );
}
