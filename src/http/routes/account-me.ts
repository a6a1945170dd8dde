import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { whoAmI } from '../../services/identity/account-settings.ts';
import { authOf, requireSession } from '../auth.ts';
import { EXAMPLE, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const OrNull = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const Me = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('customer'), Type.Literal('operator')]),
    email: Type.String(),
    role: OrNull(Type.String({ description: "an operator's role; null for a customer" })),
    aal: Type.Integer({ description: '2 when the session was opened with a second factor' }),
    anti_phishing_code: OrNull(
      Type.String({
        description:
          'the code in force, as every email shows it, to a second-factor (aal 2) session only; null when none is set or the session was opened with a password alone',
      }),
    ),
    locked_at: OrNull(Type.String()),
    withdrawals_locked_until: OrNull(
      Type.String({ description: 'withdrawals pause until then after a security change' }),
    ),
    server_time: Type.String({ description: "the server's clock now, for countdowns" }),
  },
  {
    examples: [
      {
        id: EXAMPLE.customerId,
        kind: 'customer',
        email: 'ada@example.com',
        role: null,
        aal: 2,
        anti_phishing_code: 'blue heron 42',
        locked_at: null,
        withdrawals_locked_until: '2026-11-28T12:00:00.000Z',
        server_time: '2026-11-28T12:05:00.000Z',
      },
    ],
  },
);

/** `GET /v1/account`: who this session is, for the console's header and its anti-phishing code. */
export function registerAccountMeRoutes(app: FastifyInstance, context: ServiceContext) {
  const anyone = requireSession(context);
  app.get(
    '/v1/account',
    {
      schema: {
        tags: ['account'],
        summary: 'Who is signed in',
        description:
          'Any signed-in customer or operator: their id, email, role (operators), the assurance level of this ' +
          'session, the anti-phishing code in force to a second-factor session only (null to a password-only one; the console shows it on every page a customer acts on, ' +
          'as every email does; a cloned page has no session and cannot), the account lock and the pause on ' +
          "withdrawals after a security change, and the server's clock for countdowns.",
        security: SECURITY,
        response: { 200: Me, ...PROBLEM_RESPONSES },
      },
      ...anyone,
    },
    async (request) => whoAmI(context, authOf(request)),
  );
}
