import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import {
  getNotificationPreferences,
  setNotificationPreferences,
} from '../../services/notification-preferences.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const Preferences = Type.Object({
  preferences: Type.Array(
    Type.Object({ event: Type.String(), description: Type.String(), enabled: Type.Boolean() }),
  ),
  always_on: Type.String(),
});

export function registerNotificationPreferenceRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/account/notification-preferences',
    {
      schema: {
        tags: ['account'],
        summary: 'Which optional notifications I receive (security ones are always sent)',
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
        security: SECURITY,
        body: Body({
          preferences: Type.Array(
            Type.Object(
              { event: Type.String({ maxLength: 64 }), enabled: Type.Boolean() },
              { additionalProperties: false },
            ),
            { minItems: 1, maxItems: 20 },
          ),
        }),
        response: { 200: Preferences, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) =>
      setNotificationPreferences(context, authOf(request), request.body as { preferences: unknown }),
  );
}
