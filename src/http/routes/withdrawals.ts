import { createPublicKey, type KeyObject } from 'node:crypto';
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
import {
  Body,
  EXAMPLE,
  Id,
  PROBLEM_RESPONSES,
  ProofSchema,
  SECURITY,
  WithdrawalListQuery,
} from '../schemas.ts';

/** A withdrawal as POST /v1/withdrawals answers it: awaiting confirmation, nothing held yet. */
const REQUESTED_EXAMPLE = {
  id: EXAMPLE.withdrawalId,
  state: 'awaiting_confirmation',
  asset: 'BTC',
  network: 'bitcoin',
  amount: '0.25',
  fee: '0.0001',
  destination_id: EXAMPLE.destinationId,
  destination: EXAMPLE.btcAddress,
  destination_label: 'Cold wallet',
  summary: 'Send 0.25 BTC to bc1qw508...v8f3t4 (Cold wallet), fee 0.0001 BTC',
  digest: 'a634e9102a071ecc414e426a0fd27fc5644948113fc5addf0c79d27de6a27f37',
  nonce: 'YBpAOHgccvOuZn5aQaip2A',
  expires_at: '2026-11-28T12:06:01.000Z',
  release_after: null,
  time_locked_until: null,
  txid: null,
  reason: null,
  created_at: '2026-11-28T12:01:01.000Z',
  updated_at: '2026-11-28T12:01:01.000Z',
};

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
  {
    additionalProperties: false,
    examples: [
      {
        ...REQUESTED_EXAMPLE,
        state: 'queued',
        release_after: '2026-11-28T12:11:31.000Z',
        updated_at: '2026-11-28T12:01:31.000Z',
        history: [
          {
            at: '2026-11-28T12:01:01.000Z',
            from_state: null,
            to_state: 'awaiting_confirmation',
            actor: `customer:${EXAMPLE.customerId}`,
            reason: null,
          },
          {
            at: '2026-11-28T12:01:31.000Z',
            from_state: 'awaiting_confirmation',
            to_state: 'screening',
            actor: `customer:${EXAMPLE.customerId}`,
            reason: 'confirmed with totp',
          },
          {
            at: '2026-11-28T12:01:31.000Z',
            from_state: 'screening',
            to_state: 'queued',
            actor: 'system:screening',
            reason: null,
          },
        ],
      },
    ],
  },
);

/** A new withdrawal, with what will make it wait once confirmed (core/withdrawals/request-checks.ts). */
const RequestedWithdrawalSchema = Type.Composite(
  [
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
  ],
  {
    examples: [
      {
        ...REQUESTED_EXAMPLE,
        warnings: [
          {
            code: 'withdrawals_halted',
            detail:
              'withdrawals are halted (asset): bitcoin node upgrade; it will not be released until the halt is lifted',
            halt_id: EXAMPLE.haltId,
            scope: 'asset',
          },
        ],
      },
    ],
  },
);

export function registerWithdrawalRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/.well-known/drawbridge-release-key',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'The two Ed25519 public keys a custody signer pins: the release key and the monitor key',
        description:
          'For custody signers; no session needed. The Ed25519 public key (SPKI PEM) whose private half ' +
          'signs every release attestation, with its `key_id`, and under `monitor` the key of the independent ' +
          "monitor, whose approving verdict every attestation carries. Check both (drawbridge/attestation's " +
          '`verifyReleaseAttestation`, or docs/verify-attestation.py) before signing a transaction.',
        response: {
          200: Type.Object(
            {
              alg: Type.Literal('Ed25519'),
              key_id: Type.String(),
              public_key_pem: Type.String(),
              monitor: Type.Object({
                alg: Type.Literal('Ed25519'),
                key_id: Type.String(),
                public_key_pem: Type.String(),
              }),
            },
            {
              examples: [
                {
                  alg: 'Ed25519',
                  key_id: 'MCowBQYDK2VwAyEAHw4AKdgGAgvHeQKcWYa3bl5v81iS0Jew97p5XKb8QFM',
                  public_key_pem:
                    '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAHw4AKdgGAgvHeQKcWYa3bl5v81iS0Jew97p5XKb8QFM=\n-----END PUBLIC KEY-----\n',
                  monitor: {
                    alg: 'Ed25519',
                    key_id: 'MCowBQYDK2VwAyEA9Hn0Xh0J0dKpLxqvZ1hJ0m8oQ8sR2VbVq4c7GmR0u1Y',
                    public_key_pem:
                      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA9Hn0Xh0J0dKpLxqvZ1hJ0m8oQ8sR2VbVq4c7GmR0u1Y=\n-----END PUBLIC KEY-----\n',
                  },
                },
              ],
            },
          ),
        },
      },
    },
    async () => {
      const described = (publicKey: KeyObject) => ({
        alg: 'Ed25519' as const,
        key_id: keyId(publicKey),
        public_key_pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      });
      return {
        ...described(createPublicKey(context.releaseKey)),
        monitor: described(context.monitorPublicKey),
      };
    },
  );

  app.get(
    '/v1/balances',
    {
      schema: {
        tags: ['withdrawals'],
        summary: 'My balances: available and held, per asset',
        description:
          'For the signed-in customer: per asset, `available` (what new withdrawals may spend, amount plus ' +
          'fee) and `held` (set aside for withdrawals confirmed but not yet settled), as decimal strings in ' +
          'the asset unit.',
        security: SECURITY,
        response: {
          200: Type.Object(
            {
              balances: Type.Array(
                Type.Object({ asset: Type.String(), available: Type.String(), held: Type.String() }),
              ),
            },
            {
              examples: [
                {
                  balances: [
                    { asset: 'BTC', available: '0.7499', held: '0.2501' },
                    { asset: 'USDC', available: '1250.5', held: '0' },
                  ],
                },
              ],
            },
          ),
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
        description:
          'For the signed-in customer. Creates a withdrawal of `amount` (a decimal string) to one of their ' +
          'address-book entries on `network`, in `awaiting_confirmation`, with the `summary` and `digest` ' +
          'to approve made from server state only; nothing is held yet. Confirm it with POST ' +
          '/v1/withdrawals/{id}/confirm before `expires_at`; `warnings` says what will make it wait after ' +
          'that (a destination still cooling, a halt). An amount below the fee or a destination not in the ' +
          'book on that network is a 400, more than the available balance (amount plus fee) 409 ' +
          'INSUFFICIENT_FUNDS.',
        security: SECURITY,
        body: Body(
          {
            asset: Type.String({ maxLength: 16 }),
            network: Type.String({ maxLength: 32 }),
            amount: Type.String({ maxLength: 64, description: 'decimal string, e.g. "0.25"' }),
            destination_id: Id,
          },
          {
            examples: [
              { asset: 'BTC', network: 'bitcoin', amount: '0.25', destination_id: EXAMPLE.destinationId },
            ],
          },
        ),
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
        description:
          'For the signed-in customer: one of their withdrawals with its state history (up to 100 moves, ' +
          "each with time, actor and reason). Another customer's withdrawal is 404, as an unknown one is.",
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
        description:
          'For the signed-in customer, to confirm with a passkey: WebAuthn request options whose challenge ' +
          "is derived from this withdrawal's digest and nonce, so the signed assertion names what was " +
          'approved; single-use, valid 5 minutes. Send the assertion to POST /v1/withdrawals/{id}/confirm ' +
          'as `proof: {"method": "passkey", "challenge_id", "response"}`. A withdrawal not awaiting ' +
          'confirmation is 409 WRONG_STATE.',
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
        description:
          'For the signed-in customer, before `expires_at`: a TOTP code, a recovery code or a passkey ' +
          "assertion over this withdrawal's challenge. In one step the proof naming this withdrawal and its " +
          'digest is stored, amount plus fee are held, and screening decides the `state`: queued (released ' +
          'after its cancel window, `release_after`), time_locked, held_for_review or rejected. A wrong ' +
          'factor is 401 INVALID_CREDENTIALS and counts (the fifth cancels the withdrawal); one not ' +
          'awaiting confirmation is 409 WRONG_STATE, one past `expires_at` 409 WITHDRAWAL_EXPIRED, the TOTP ' +
          'code just used 409 TOTP_ALREADY_USED, too many attempts 429.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { proof: ProofSchema },
          {
            examples: [
              { proof: EXAMPLE.proof },
              {
                proof: {
                  method: 'passkey',
                  challenge_id: 'Tq6wE1rY4uI7oP0aS3dF6gH9jK2lZ5xC8vB1nM4qW7e',
                  response: {
                    id: 'mF3tq0x4Qk2Vb9zL7cR1sN8dW5pY6hJ0gA3eK7uI4oZ',
                    rawId: 'mF3tq0x4Qk2Vb9zL7cR1sN8dW5pY6hJ0gA3eK7uI4oZ',
                    type: 'public-key',
                    response: {
                      clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0Ii…',
                      authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ',
                      signature: 'MEUCIQDx…',
                    },
                    clientExtensionResults: {},
                  },
                },
              },
            ],
          },
        ),
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
        description:
          'For the signed-in customer: cancels one of their withdrawals not yet released (awaiting ' +
          'confirmation, held for review, time-locked or queued) and voids its hold; the body, with an ' +
          'optional `reason`, may be left out. A withdrawal past that is 409 WRONG_STATE naming its ' +
          '`state`.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { reason: Type.Optional(Type.String({ maxLength: 500 })) },
          { examples: [{ reason: 'wrong amount' }] },
        ),
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
