import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type AuditQuery, searchAuditLog } from '../../services/audit.ts';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { getCustomer, searchCustomers } from '../../services/identity/customers.ts';
import { searchWithdrawals, type WithdrawalQuery } from '../../services/withdrawals/query.ts';
import { authOf, requireSession } from '../auth.ts';
import { Id, PROBLEM_RESPONSES, SECURITY, WithdrawalSearchQuery } from '../schemas.ts';
import { WithdrawalSchema } from './withdrawals.ts';

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const Customer = Type.Object({
  id: Type.String(),
  email: Type.String(),
  email_verified_at: Nullable(Type.String()),
  created_at: Type.String(),
  locked_at: Nullable(Type.String()),
  locked_reason: Nullable(Type.String()),
  withdrawals_locked_until: Nullable(Type.String()),
});

const CustomerDetail = Type.Intersect([
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
]);

const AuditEntry = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  at: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  subject: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String({
    description: "the entry's place in the hash chain (drawbridge audit verify checks it)",
  }),
});

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
          "Every customer's withdrawals, newest first, by `state`, `asset`, `account_id` and creation time " +
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
          'Customers, newest first, whose email starts with `email` (when given); `limit` 1-200 (default 50), ' +
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
        description: 'Never a secret: factors are listed by method and label only.',
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
          'Sealed entries, newest first, by `action` (exact, or a family such as `withdrawal.*`), `actor` ' +
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
