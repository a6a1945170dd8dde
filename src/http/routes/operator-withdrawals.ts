import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { creditDeposit } from '../../services/deposits.ts';
import { HALT_PAGE_MAX, liftHalt, listActiveHalts, setHalt } from '../../services/halts.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { cancelWithdrawal } from '../../services/withdrawals/cancel.ts';
import { getWithdrawal } from '../../services/withdrawals/query.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { WithdrawalSchema } from './withdrawals.ts';

const Halt = Type.Object({
  id: Type.String(),
  scope: Type.String(),
  asset: Type.Union([Type.String(), Type.Null()]),
  network: Type.Union([Type.String(), Type.Null()]),
  account_id: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  created_by: Type.String(),
  created_at: Type.String(),
  lifted_at: Type.Union([Type.String(), Type.Null()]),
  lifted_by: Type.Union([Type.String(), Type.Null()]),
});

export function registerHaltAndDepositRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.post(
    '/v1/operator/halts',
    {
      schema: {
        tags: ['operator'],
        summary:
          'Halt withdrawals (global, one asset[/network], or one account): once this returns nothing more is released',
        security: SECURITY,
        body: Body({
          scope: Type.String({ enum: ['global', 'asset', 'account'] }),
          asset: Type.Optional(Type.String({ maxLength: 16 })),
          network: Type.Optional(Type.String({ maxLength: 32 })),
          account_id: Type.Optional(Id),
          reason: Type.String({ maxLength: 500 }),
        }),
        response: { 201: Halt, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) => {
      const actor = actingOperator(authOf(request));
      return reply.status(201).send(await setHalt(context, actor, request.body as Record<string, unknown>));
    },
  );

  app.get(
    '/v1/operator/halts',
    {
      schema: {
        tags: ['operator'],
        summary: 'Active halts, oldest first, a page at a time',
        security: SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({ pattern: '^[0-9]{1,4}$', description: `1 to ${HALT_PAGE_MAX}, default 100` }),
            ),
            starting_after: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ halts: Type.Array(Halt), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      return listActiveHalts(
        context,
        actingOperator(authOf(request)),
        request.query as { limit?: string; starting_after?: string },
      );
    },
  );

  app.delete(
    '/v1/operator/halts/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'Lift a halt (incident commander; the two-person resume comes with the incident playbook)',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: Type.Object({ id: Type.String(), lifted: Type.Boolean() }), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return liftHalt(context, actingOperator(authOf(request)), (request.params as { id: string }).id);
    },
  );

  app.post(
    '/v1/operator/deposits',
    {
      schema: {
        tags: ['operator'],
        summary: 'Credit a deposit seen on chain; idempotent by network, txid and output index',
        security: SECURITY,
        body: Body({
          account_id: Id,
          asset: Type.String({ maxLength: 16 }),
          network: Type.String({ maxLength: 32 }),
          amount: Type.String({ maxLength: 64 }),
          txid: Type.String({ maxLength: 128 }),
          output_index: Type.Integer(),
        }),
        response: {
          200: Type.Object({ id: Type.String(), credited: Type.Boolean(), amount: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      return creditDeposit(context, actingOperator(authOf(request)), request.body as Record<string, unknown>);
    },
  );

  app.get(
    '/v1/operator/withdrawals/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'Any withdrawal with its history',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return getWithdrawal(context, authOf(request), (request.params as { id: string }).id);
    },
  );

  app.post(
    '/v1/operator/withdrawals/:id/cancel',
    {
      schema: {
        tags: ['operator'],
        summary: 'Cancel any withdrawal before release',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ reason: Type.String({ maxLength: 500 }) }),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return cancelWithdrawal(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        request.body as { reason: string },
      );
    },
  );
}
