import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  MAX_WEBHOOK_URL_LENGTH,
  NO_WEBHOOK_DESTINATIONS,
  type WebhookDestinationPolicy,
} from '../../adapters/webhooks/destination-policy.ts';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import {
  createWebhookEndpoint,
  disableWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
} from '../../services/webhooks.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { registerNotificationPreferenceRoutes } from './notification-preferences.ts';

const Events = Type.Union(
  [
    Type.Literal('*', { description: 'every event' }),
    Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 50 }),
  ],
  { description: 'event names such as account.locked, or "*"' },
);

const Endpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Events,
  status: Type.String({ enum: ['active', 'disabled'] }),
  created_at: Type.String(),
  rotated_at: Type.Union([Type.String(), Type.Null()]),
  previous_secret_valid_until: Type.Union([Type.String(), Type.Null()]),
  disabled_at: Type.Union([Type.String(), Type.Null()]),
});

const EndpointWithSecret = Type.Intersect([
  Endpoint,
  Type.Object({
    secret: Type.String({
      description: 'whsec_ signing secret, shown once; verify with any Standard Webhooks library',
    }),
  }),
]);

/**
 * Integrators' webhook receivers (admin operators only) and customers' notification preferences. Receivers are
 * limited to `destinations` (WEBHOOK_ALLOWED_HOSTS); a server given none accepts no receiver at all.
 */
export function registerWebhookRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  options: { destinations?: WebhookDestinationPolicy | undefined } = {},
) {
  const destinations = options.destinations ?? NO_WEBHOOK_DESTINATIONS;
  const operator = requireSession(context, 'operator');
  const id = Type.Object({ id: Id });

  app.post(
    '/v1/operator/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Register a webhook receiver; the signing secret is in this answer only',
        security: SECURITY,
        body: Body({ url: Type.String({ maxLength: MAX_WEBHOOK_URL_LENGTH }), events: Events }),
        response: { 201: EndpointWithSecret, ...PROBLEM_RESPONSES },
      },
      config: { idempotencyStoresResponse: false },
      preHandler: operator,
    },
    async (request, reply) => {
      const created = await createWebhookEndpoint(
        context,
        actingOperator(authOf(request)),
        destinations,
        request.body as { url: string; events: unknown },
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/operator/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook receivers (never their secrets)',
        security: SECURITY,
        response: { 200: Type.Object({ endpoints: Type.Array(Endpoint) }), ...PROBLEM_RESPONSES },
      },
      preHandler: operator,
    },
    async (request) => {
      return listWebhookEndpoints(context, actingOperator(authOf(request)));
    },
  );

  app.post(
    '/v1/operator/webhooks/:id/rotate-secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'New signing secret (shown once); the old one also signs for 24 h',
        security: SECURITY,
        params: id,
        response: { 200: EndpointWithSecret, ...PROBLEM_RESPONSES },
      },
      config: { idempotencyStoresResponse: false },
      preHandler: operator,
    },
    async (request) => {
      return rotateWebhookSecret(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
      );
    },
  );

  app.post(
    '/v1/operator/webhooks/:id/disable',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Stop deliveries to a receiver; queued messages for it fail',
        security: SECURITY,
        params: id,
        response: { 200: Endpoint, ...PROBLEM_RESPONSES },
      },
      preHandler: operator,
    },
    async (request) => {
      return disableWebhookEndpoint(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
      );
    },
  );

  registerNotificationPreferenceRoutes(app, context);
}
