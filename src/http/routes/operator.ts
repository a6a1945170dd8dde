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
  EXAMPLE,
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
        description:
          'Operators sign in here, always with a second factor: a right password without `proof` is 401 ' +
          'MFA_REQUIRED, and any wrong password or factor is the same 401 INVALID_CREDENTIALS. A locked ' +
          'operator account is 403 ACCOUNT_LOCKED; attempts are rate-limited per IP and account (429). The ' +
          'session is issued as for customers: a bearer `token`, and the same as an HttpOnly cookie with ' +
          '`csrf_token` for cookie-authenticated changes.',
        body: Body(
          { email: Email, password: Password, proof: Type.Optional(ProofSchema) },
          {
            examples: [
              {
                email: 'oncall@drawbridge.example',
                password: 'a long operator passphrase',
                proof: EXAMPLE.proof,
              },
            ],
          },
        ),
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
        description:
          'Ends sessions by incrementing an epoch that every request is checked against, so it takes effect ' +
          "at once on every node: `all: true` ends every customer's (incident commander or admin), one " +
          "`customer_id` that customer's (any operator role). Give exactly one of the two (400 otherwise); " +
          'an unknown customer is 404. Audited; the customers sign in again.',
        security: SECURITY,
        body: Body(Scope, { examples: [{ customer_id: EXAMPLE.customerId }, { all: true }] }),
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
        description:
          'Makes second factors stop counting by incrementing an epoch: `all: true` revokes every ' +
          "customer's factors, or only those of one `method` (totp, passkey or recovery), for an incident " +
          "commander or admin; one `customer_id` revokes all of that customer's (risk analyst, incident " +
          'commander or admin; `method` is then a 400). Customers enrol again at their next sign-in, ' +
          'without a step-up; audited.',
        security: SECURITY,
        body: Body(
          {
            ...Scope,
            method: Type.Optional(Type.String({ enum: ['totp', 'passkey', 'recovery'] })),
          },
          { examples: [{ customer_id: EXAMPLE.customerId }, { all: true, method: 'totp' }] },
        ),
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
        description:
          'Any operator role, with a `reason` of 3 to 500 characters: unlocks a customer account locked by ' +
          'its owner or a lock link (an operator account only an admin unlocks), emails the customer and ' +
          'audits it. Sessions the lock ended stay ended: the customer signs in again. An account that is ' +
          'not locked is 409 WRONG_STATE, an unknown one 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { reason: Type.String({ maxLength: 500 }) },
          { examples: [{ reason: 'Owner confirmed by phone after checking their devices' }] },
        ),
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
