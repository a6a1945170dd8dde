import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AuditQuery, searchAuditLog } from '../../services/audit-search.ts';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { getCustomer, searchCustomers } from '../../services/identity/customers.ts';
import { searchWithdrawals, type WithdrawalQuery } from '../../services/withdrawals/query.ts';
import { authOf, requireSession } from '../auth.ts';
import { EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY, WithdrawalSearchQuery } from '../schemas.ts';
import { WithdrawalSchema } from './withdrawals.ts';

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const CUSTOMER_EXAMPLE = {
  id: EXAMPLE.customerId,
  email: 'ada@example.com',
  email_verified_at: '2026-11-27T12:00:00.000Z',
  created_at: '2026-11-27T11:58:12.000Z',
  locked_at: null,
  locked_reason: null,
  withdrawals_locked_until: '2026-11-28T12:00:00.000Z',
};

const Customer = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    email_verified_at: Nullable(Type.String()),
    created_at: Type.String(),
    locked_at: Nullable(Type.String()),
    locked_reason: Nullable(Type.String()),
    withdrawals_locked_until: Nullable(Type.String()),
  },
  { examples: [CUSTOMER_EXAMPLE] },
);

const CustomerDetail = Type.Intersect(
  [
    Customer,
    Type.Object({
      balances: Type.Array(
        Type.Object({ asset: Type.String(), available: Type.String(), held: Type.String() }),
      ),
      factors: Type.Array(
        Type.Object({
          id: Type.String(),
          method: Type.String(),
          label: Type.String(),
          activated_at: Nullable(Type.String()),
        }),
      ),
      recovery_codes_left: Type.Integer(),
    }),
  ],
  {
    examples: [
      {
        ...CUSTOMER_EXAMPLE,
        balances: [{ asset: 'BTC', available: '0.7499', held: '0.2501' }],
        factors: [
          {
            id: EXAMPLE.factorId,
            method: 'totp',
            label: 'Authenticator app',
            activated_at: '2026-11-27T12:00:00.000Z',
          },
        ],
        recovery_codes_left: 10,
      },
    ],
  },
);

const AuditEntry = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer(),
    at: Type.String(),
    actor: Type.String(),
    actor_email: Type.Union([Type.String(), Type.Null()], {
      description: "an operator actor's email, for people; null for anyone else",
    }),
    action: Type.String(),
    subject: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    hash: Type.String({
      description: "the entry's place in the hash chain (drawbridge audit verify checks it)",
    }),
  },
  {
    examples: [
      {
        id: '01a23ab8-8639-7fbb-b9ab-6c9138a66b06',
        seq: 10,
        at: '2026-11-28T12:01:31.000Z',
        actor: `customer:${EXAMPLE.customerId}`,
        actor_email: null,
        action: 'withdrawal.confirmed',
        subject: `withdrawal:${EXAMPLE.withdrawalId}`,
        data: {
          digest: 'a634e9102a071ecc414e426a0fd27fc5644948113fc5addf0c79d27de6a27f37',
          method: 'totp',
          outcome: 'queued',
        },
        hash: '1d7e54bb6b01b904e01c62f78cf9c31aa05e12a995fc3d80cfe8c90778e64ffc',
      },
    ],
  },
);

const PageQuery = {
  limit: Type.Optional(Type.String({ maxLength: 6 })),
  starting_after: Type.Optional(Id),
};

/** What operators look things up with: withdrawals, customers and the audit log, each filtered and paged. */
export function registerOperatorSearchRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.get(
    '/v1/operator/withdrawals',
    {
      schema: {
        tags: ['operator'],
        summary: 'Search withdrawals',
        description:
          "Any operator role: every customer's withdrawals, newest first, by `state`, `asset`, `account_id` and creation time " +
          '(`created_from` inclusive, `created_until` exclusive, ISO-8601); `limit` 1-200 (default 50), ' +
          '`starting_after` the last id of the page before, `has_more` whether another page follows.',
        security: SECURITY,
        querystring: WithdrawalSearchQuery,
        response: {
          200: Type.Object({ withdrawals: Type.Array(WithdrawalSchema), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      searchWithdrawals(context, actingOperator(authOf(request)), request.query as WithdrawalQuery),
  );

  app.get(
    '/v1/operator/customers',
    {
      schema: {
        tags: ['operator'],
        summary: 'Search customers',
        description:
          'Any operator role: customers, newest first, whose email starts with `email` (when given); `limit` 1-200 (default 50), ' +
          '`starting_after`, `has_more`.',
        security: SECURITY,
        querystring: Type.Object(
          { ...PageQuery, email: Type.Optional(Type.String({ maxLength: 254 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ customers: Type.Array(Customer), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      searchCustomers(context, actingOperator(authOf(request)), request.query as Record<string, unknown>),
  );

  app.get(
    '/v1/operator/customers/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'One customer: the account, its balances and second factors',
        description:
          'Any operator role: the customer account (email, verification, lock and security-change lock), ' +
          'its balances per asset and its second factors with the number of recovery codes left. Never a ' +
          'secret: factors are listed by method and label only. An unknown id is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: CustomerDetail, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      getCustomer(context, actingOperator(authOf(request)), (request.params as { id: string }).id),
  );

  app.get(
    '/v1/operator/audit',
    {
      schema: {
        tags: ['operator'],
        summary: 'Search the audit log',
        description:
          'Any operator role: sealed entries, newest first, by `action` (exact, or a family such as `withdrawal.*`), `actor` ' +
          '(`operator:<id>`), `subject` (`withdrawal:<id>`) and time (`from` inclusive, `until` exclusive); ' +
          '`limit` 1-500 (default 50), `starting_after` (an entry id), `has_more`. Entries appear once sealed ' +
          '(within a second).',
        security: SECURITY,
        querystring: Type.Object(
          {
            ...PageQuery,
            action: Type.Optional(Type.String({ maxLength: 200 })),
            actor: Type.Optional(Type.String({ maxLength: 200 })),
            subject: Type.Optional(Type.String({ maxLength: 200 })),
            from: Type.Optional(Type.String({ maxLength: 40 })),
            until: Type.Optional(Type.String({ maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ entries: Type.Array(AuditEntry), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => searchAuditLog(context, actingOperator(authOf(request)), request.query as AuditQuery),
  );
}
