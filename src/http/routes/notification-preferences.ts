import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import {
  getNotificationPreferences,
  setNotificationPreferences,
} from '../../services/notification-preferences.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const Preferences = Type.Object(
  {
    preferences: Type.Array(
      Type.Object({ event: Type.String(), description: Type.String(), enabled: Type.Boolean() }),
    ),
    always_on: Type.String(),
  },
  {
    examples: [
      {
        preferences: [
          { event: 'deposit.credited', description: 'A deposit was credited to your account', enabled: true },
          {
            event: 'account.monthly_statement',
            description: 'Your monthly statement is ready',
            enabled: true,
          },
          { event: 'product.announcement', description: 'News about Drawbridge', enabled: false },
        ],
        always_on:
          'security notifications (sign-ins, second factors, addresses, withdrawals) are always sent',
      },
    ],
  },
);

export function registerNotificationPreferenceRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/account/notification-preferences',
    {
      schema: {
        tags: ['account'],
        summary: 'Which optional notifications I receive (security ones are always sent)',
        description:
          'For the signed-in customer: each optional notification, by `event` with what it is, and whether ' +
          'it is on. Security notifications (sign-ins, second factors, devices, the anti-phishing code, the ' +
          'address book, withdrawals, the account) are always sent and are not listed.',
        security: SECURITY,
        response: { 200: Preferences, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) => getNotificationPreferences(context, authOf(request)),
  );

  app.put(
    '/v1/account/notification-preferences',
    {
      schema: {
        tags: ['account'],
        summary: 'Turn optional notifications on or off; turning off a security notification is refused',
        description:
          'For the signed-in customer: turns 1 to 20 optional notifications on or off and answers the whole ' +
          'list. Naming a security notification is a 400 (they cannot be turned off), as is an event that ' +
          'is not an optional notification.',
        security: SECURITY,
        body: Body(
          {
            preferences: Type.Array(
              Type.Object(
                { event: Type.String({ maxLength: 64 }), enabled: Type.Boolean() },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 20 },
            ),
          },
          { examples: [{ preferences: [{ event: 'product.announcement', enabled: false }] }] },
        ),
        response: { 200: Preferences, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) =>
      setNotificationPreferences(context, authOf(request), request.body as { preferences: unknown }),
  );
}
