import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import {
  approveDeposit,
  depositsAwaitingApproval,
  recordDeposit,
  rejectDeposit,
} from '../../services/deposits.ts';
import { HALT_PAGE_MAX, liftHalt, listActiveHalts, setHalt } from '../../services/halts.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { cancelWithdrawal } from '../../services/withdrawals/cancel.ts';
import { getWithdrawal } from '../../services/withdrawals/query.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { WithdrawalSchema } from './withdrawals.ts';

/** A deposit entered by hand: recorded by one operator, credited when a second approves it. */
const Deposit = Type.Object(
  {
    id: Type.String(),
    state: Type.Union([Type.Literal('pending_approval'), Type.Literal('credited'), Type.Literal('rejected')]),
    credited: Type.Boolean({ description: 'whether this call credited it' }),
    account_id: Type.String(),
    asset: Type.String(),
    network: Type.String(),
    txid: Type.String(),
    output_index: Type.Integer(),
    amount: Type.String(),
    recorded_by: Type.Union([Type.String(), Type.Null()]),
    recorded_at: Type.Union([Type.String(), Type.Null()]),
    approved_by: Type.Union([Type.String(), Type.Null()]),
    approved_at: Type.Union([Type.String(), Type.Null()]),
    rejected_by: Type.Union([Type.String(), Type.Null()]),
    rejected_at: Type.Union([Type.String(), Type.Null()]),
    rejection_reason: Type.Union([Type.String(), Type.Null()]),
    recorded_by_email: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description: "the recorder's email, in the list of those awaiting",
      }),
    ),
  },
  {
    examples: [
      {
        id: '01a23ab8-8559-7d0e-b1f4-3c6a2e9d8b07',
        state: 'pending_approval',
        credited: false,
        account_id: EXAMPLE.customerId,
        asset: 'BTC',
        network: 'bitcoin',
        txid: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
        output_index: 0,
        amount: '1',
        recorded_by: EXAMPLE.operatorId,
        recorded_at: '2026-12-07T10:00:00.000Z',
        approved_by: null,
        approved_at: null,
        rejected_by: null,
        rejected_at: null,
        rejection_reason: null,
      },
    ],
  },
);

export const Halt = Type.Object(
  {
    id: Type.String(),
    scope: Type.String(),
    asset: Type.Union([Type.String(), Type.Null()]),
    network: Type.Union([Type.String(), Type.Null()]),
    account_id: Type.Union([Type.String(), Type.Null()]),
    reason: Type.String(),
    created_by: Type.String(),
    created_by_email: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description:
          'the email of the operator who set it (in the list of active halts); null for the monitor',
      }),
    ),
    created_at: Type.String(),
    lifted_at: Type.Union([Type.String(), Type.Null()]),
    lifted_by: Type.Union([Type.String(), Type.Null()]),
    incident_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  {
    examples: [
      {
        id: EXAMPLE.haltId,
        scope: 'asset',
        asset: 'BTC',
        network: 'bitcoin',
        account_id: null,
        reason: 'bitcoin node upgrade',
        created_by: `operator:${EXAMPLE.operatorId}`,
        created_at: '2026-11-28T12:02:31.000Z',
        lifted_at: null,
        lifted_by: null,
      },
    ],
  },
);

const OperatorWithdrawalSchema = Type.Intersect([
  WithdrawalSchema,
  Type.Object({
    account_id: Type.String(),
    rules: Type.Array(
      Type.Object({
        rule: Type.String(),
        version: Type.Integer(),
        outcome: Type.String(),
        reason: Type.String(),
      }),
    ),
    price: Type.Union([
      Type.Object({
        usd: Type.String(),
        at: Type.Union([Type.String(), Type.Null()]),
        source: Type.Union([Type.String(), Type.Null()]),
      }),
      Type.Null(),
    ]),
  }),
]);

export function registerHaltAndDepositRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.post(
    '/v1/operator/halts',
    {
      schema: {
        tags: ['operator'],
        summary:
          'Halt withdrawals (global, one asset[/network], or one account): once this returns nothing more is released',
        description:
          'Risk analyst, incident commander or admin. `scope` is global, asset (with `asset`, and `network` ' +
          "to narrow it) or account (with a customer's `account_id`), with a `reason` of 3 to 500 " +
          'characters; once this answers, nothing the halt covers is released on any node, while new ' +
          'withdrawals may still be requested and confirmed and wait. Lift it with DELETE ' +
          '/v1/operator/halts/{id}; audited.',
        security: SECURITY,
        body: Body(
          {
            scope: Type.String({ enum: ['global', 'asset', 'account'] }),
            asset: Type.Optional(Type.String({ maxLength: 16 })),
            network: Type.Optional(Type.String({ maxLength: 32 })),
            account_id: Type.Optional(Id),
            reason: Type.String({ maxLength: 500 }),
          },
          {
            examples: [
              { scope: 'asset', asset: 'BTC', network: 'bitcoin', reason: 'bitcoin node upgrade' },
              {
                scope: 'account',
                account_id: EXAMPLE.customerId,
                reason: 'customer reported a stolen phone',
              },
            ],
          },
        ),
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
        description:
          'Any operator role: the halts not yet lifted, oldest first; `limit` 1 to 500 (default 100), ' +
          '`starting_after` the last halt id of the page before, `has_more` whether another page follows.',
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
        description:
          'Incident commander or admin: lifts one active halt, audited; the withdrawals it held may be ' +
          'released again under the usual release rules. A halt that is unknown or already lifted is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: {
          200: Type.Object(
            { id: Type.String(), lifted: Type.Boolean() },
            { examples: [{ id: EXAMPLE.haltId, lifted: true }] },
          ),
          ...PROBLEM_RESPONSES,
        },
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
        summary: 'Record a deposit seen on chain, to be credited once a second operator approves it',
        description:
          'Incident commander or admin: records `amount` (a decimal string) of `asset` on `network` for a ' +
          'customer, as `pending_approval`. Nothing is credited until another operator approves it ' +
          '(`POST /v1/operator/deposits/{id}/approve`): one operator alone never credits a balance. One chain ' +
          'output (`network`, `txid`, `output_index`) is recorded once: the same output again answers what was ' +
          'recorded (pending or credited), and the same output with other details is 409 CONFLICT naming the ' +
          'record in the way (reject it, `POST /v1/operator/deposits/{id}/reject`, if it is wrong). An ' +
          '`account_id` that is not a customer is a 400; audited.',
        security: SECURITY,
        body: Body(
          {
            account_id: Id,
            asset: Type.String({ maxLength: 16 }),
            network: Type.String({ maxLength: 32 }),
            amount: Type.String({ maxLength: 64 }),
            txid: Type.String({ maxLength: 128 }),
            output_index: Type.Integer(),
          },
          {
            examples: [
              {
                account_id: EXAMPLE.customerId,
                asset: 'BTC',
                network: 'bitcoin',
                amount: '1',
                txid: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
                output_index: 0,
              },
            ],
          },
        ),
        response: { 200: Deposit, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return recordDeposit(context, actingOperator(authOf(request)), request.body as Record<string, unknown>);
    },
  );

  app.post(
    '/v1/operator/deposits/:id/approve',
    {
      schema: {
        tags: ['operator'],
        summary: 'Approve a recorded deposit: it is credited',
        description:
          'Incident commander or admin, not the operator who recorded it (409 SAME_OPERATOR; the database ' +
          "refuses it too): credits the deposit to the customer's available balance, from the platform's " +
          'custody account, and answers it with `credited: true`. A deposit already credited answers with ' +
          '`credited: false`; an unknown id is 404. Audited.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Type.Optional(Body({}, { examples: [{}] })),
        response: { 200: Deposit, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return approveDeposit(context, actingOperator(authOf(request)), (request.params as { id: string }).id);
    },
  );

  app.post(
    '/v1/operator/deposits/:id/reject',
    {
      schema: {
        tags: ['operator'],
        summary: 'Reject a recorded deposit: it is never credited',
        description:
          'Incident commander or admin, its recorder included: a mistyped or made-up entry is never credited, ' +
          'and its chain output may be recorded again. `reason` (3 to 500 characters) says why. Rejecting it ' +
          'again answers it; a deposit already credited is 409 ALREADY_RESOLVED; an unknown id is 404. Audited.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { reason: Type.String({ maxLength: 500 }) },
          { examples: [{ reason: 'wrong account: typo' }] },
        ),
        response: { 200: Deposit, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return rejectDeposit(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { reason?: unknown },
      );
    },
  );

  app.get(
    '/v1/operator/deposits',
    {
      schema: {
        tags: ['operator'],
        summary: 'Deposits awaiting a second operator, oldest first',
        description:
          'Any operator role: the deposits recorded and not yet approved, oldest first; `limit` 1 to 500 ' +
          '(default 100), `more` whether others wait beyond them.',
        security: SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 500, default 100' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ deposits: Type.Array(Deposit), more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      return depositsAwaitingApproval(
        context,
        actingOperator(authOf(request)),
        request.query as { limit?: string },
      );
    },
  );

  app.get(
    '/v1/operator/withdrawals/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'Any withdrawal with its history',
        description:
          "Any operator role: any customer's withdrawal, with its state history (up to 100 moves, each with " +
          'time, actor and reason), what decided it (each screening rule with its outcome and reason) and the ' +
          'price point it was valued at. An unknown id is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: OperatorWithdrawalSchema, ...PROBLEM_RESPONSES },
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
        description:
          "Any operator role, with a `reason` (at most 500 characters): cancels any customer's withdrawal " +
          'not yet released (awaiting confirmation, held for review, time-locked or queued) and voids its ' +
          'hold; audited. A withdrawal past that is 409 WRONG_STATE naming its `state`.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { reason: Type.String({ maxLength: 500 }) },
          { examples: [{ reason: 'customer called: the destination is not theirs' }] },
        ),
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
