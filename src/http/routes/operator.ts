import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { unlockAccount } from '../../services/identity/account-lock.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { login } from '../../services/identity/login.ts';
import { parseMethod, revokeMfa, revokeSessions } from '../../services/identity/revocation.ts';
import { authOf, requestMeta, requireSession, sessionIssued } from '../auth.ts';
import {
  Body,
  Email,
  Id,
  Password,
  PROBLEM_RESPONSES,
  ProofSchema,
  SECURITY,
  SessionIssued,
} from '../schemas.ts';

const Scope = {
  all: Type.Optional(Type.Literal(true, { description: 'every customer' })),
  customer_id: Type.Optional(Id),
};

export function registerOperatorRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  options: { cookieSecure: boolean },
) {
  const operator = requireSession(context, 'operator');

  app.post(
    '/v1/operator/login',
    {
      schema: {
        tags: ['operator'],
        summary: 'Operator sign-in: password and a second factor, always',
        body: Body({ email: Email, password: Password, proof: Type.Optional(ProofSchema) }),
        response: { 200: SessionIssued, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => {
      const session = await login(
        context,
        'operator',
        request.body as Record<string, unknown> as { email: string; password: string },
        requestMeta(request),
      );
      return sessionIssued(reply, session, options.cookieSecure);
    },
  );

  app.post(
    '/v1/operator/security/revoke-sessions',
    {
      schema: {
        tags: ['operator'],
        summary: "End every customer session (all: true) or one customer's: an O(1) epoch increment",
        security: SECURITY,
        body: Body(Scope),
        response: {
          200: Type.Object({ scope: Type.String() }, { additionalProperties: true }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      const actor = actingOperator(authOf(request));
      return revokeSessions(context, actor, request.body as { all?: true; customer_id?: string });
    },
  );

  app.post(
    '/v1/operator/security/revoke-mfa',
    {
      schema: {
        tags: ['operator'],
        summary:
          "Revoke every customer second factor (optionally one method) or one customer's: an O(1) epoch increment",
        security: SECURITY,
        body: Body({
          ...Scope,
          method: Type.Optional(Type.String({ enum: ['totp', 'passkey', 'recovery'] })),
        }),
        response: {
          200: Type.Object({ scope: Type.String() }, { additionalProperties: true }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      const actor = actingOperator(authOf(request));
      const body = request.body as { all?: true; customer_id?: string; method?: string };
      return revokeMfa(context, actor, body, parseMethod(body.method));
    },
  );

  app.post(
    '/v1/operator/customers/:id/unlock',
    {
      schema: {
        tags: ['operator'],
        summary: 'Unlock a customer account that was locked by its owner or a lock link',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ reason: Type.String({ maxLength: 500 }) }),
        response: { 200: Type.Object({ unlocked: Type.Boolean() }), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return unlockAccount(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { reason: string },
      );
    },
  );
}
