import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  MAX_WEBHOOK_URL_LENGTH,
  NO_WEBHOOK_DESTINATIONS,
  type WebhookDestinationPolicy,
} from '../../adapters/webhooks/destination-policy.ts';
import { eventCatalogue } from '../../core/notifications/event-types.ts';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import {
  createWebhookEndpoint,
  disableWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  rotateWebhookSecret,
  sendTestWebhookEvent,
} from '../../services/webhooks.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { registerNotificationPreferenceRoutes } from './notification-preferences.ts';

const Events = Type.Union(
  [
    Type.Literal('*', { description: 'every event' }),
    Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 50 }),
  ],
  { description: 'event types from GET /v1/webhook-event-types, such as withdrawal.completed, or "*"' },
);

const ENDPOINT_EXAMPLE = {
  id: EXAMPLE.webhookId,
  url: 'https://hooks.example.com/drawbridge',
  events: ['withdrawal.cancelled', 'withdrawal.completed'],
  status: 'active',
  created_at: '2026-11-28T12:02:31.000Z',
  rotated_at: null,
  previous_secret_valid_until: null,
  disabled_at: null,
};

const Endpoint = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Events,
    status: Type.String({ enum: ['active', 'disabled'] }),
    created_at: Type.String(),
    rotated_at: Type.Union([Type.String(), Type.Null()]),
    previous_secret_valid_until: Type.Union([Type.String(), Type.Null()]),
    disabled_at: Type.Union([Type.String(), Type.Null()]),
  },
  { examples: [ENDPOINT_EXAMPLE] },
);

const DELIVERY_EXAMPLE = {
  id: EXAMPLE.deliveryId,
  event_id: EXAMPLE.eventId,
  type: 'webhook.test',
  status: 'delivered',
  attempts: 1,
  next_attempt_at: null,
  delivered_at: '2026-11-28T12:02:32.000Z',
  last_error: null,
  created_at: '2026-11-28T12:02:31.000Z',
};

const Delivery = Type.Object(
  {
    id: Type.String({ description: 'the webhook-id header of this delivery' }),
    event_id: Type.Union([Type.String(), Type.Null()], {
      description: "the body's id: the same at every receiver",
    }),
    type: Type.String(),
    status: Type.String({ enum: ['pending', 'delivered', 'failed', 'held'] }),
    attempts: Type.Integer(),
    next_attempt_at: Type.Union([Type.String(), Type.Null()]),
    delivered_at: Type.Union([Type.String(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
  },
  { examples: [DELIVERY_EXAMPLE] },
);

const EndpointWithSecret = Type.Intersect(
  [
    Endpoint,
    Type.Object({
      secret: Type.String({
        description: 'whsec_ signing secret, shown once; verify with any Standard Webhooks library',
      }),
    }),
  ],
  { examples: [{ ...ENDPOINT_EXAMPLE, secret: 'whsec_YPbauLrQuFA+jNub7fuzvrikJ7zH6B4Rja/eG3dEkSA=' }] },
);

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
        description:
          'Admin only. Registers `url`, an https URL on a host WEBHOOK_ALLOWED_HOSTS lists (http only on ' +
          'loopback where allowed; a server given no hosts accepts no receiver, and any other URL is a 400 ' +
          'naming `url`), for `events`: "*" or types from GET /v1/webhook-event-types. The `whsec_` signing ' +
          'secret is in this answer only (an Idempotency-Key is honoured, the answer not stored); at most ' +
          '100 receivers are active (409 LIMIT_REACHED).',
        security: SECURITY,
        body: Body(
          { url: Type.String({ maxLength: MAX_WEBHOOK_URL_LENGTH }), events: Events },
          {
            examples: [
              {
                url: 'https://hooks.example.com/drawbridge',
                events: ['withdrawal.completed', 'withdrawal.cancelled'],
              },
            ],
          },
        ),
        response: { 201: EndpointWithSecret, ...PROBLEM_RESPONSES },
      },
      config: { idempotencyStoresResponse: false },
      ...operator,
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
        description:
          'Admin only: every receiver with its events, status and when its secret was last rotated; secrets ' +
          'are never shown again after they are issued.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { endpoints: Type.Array(Endpoint) },
            { examples: [{ endpoints: [ENDPOINT_EXAMPLE] }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
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
        description:
          'Admin only. Issues a new signing secret, in this answer only; the previous one keeps signing ' +
          'beside it (both signatures in `webhook-signature`) until `previous_secret_valid_until`, 24 hours ' +
          'on, so the receiver can switch without losing events. A disabled receiver is 409 WRONG_STATE.',
        security: SECURITY,
        params: id,
        response: { 200: EndpointWithSecret, ...PROBLEM_RESPONSES },
      },
      config: { idempotencyStoresResponse: false },
      ...operator,
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
        description:
          'Admin only. Stops deliveries to the receiver for good: messages still queued for it fail instead ' +
          'of going out. Disabling a disabled receiver answers it unchanged; to receive again, register a ' +
          'new receiver.',
        security: SECURITY,
        params: id,
        response: { 200: Endpoint, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      return disableWebhookEndpoint(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
      );
    },
  );

  app.get(
    '/v1/operator/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: "A receiver's deliveries, newest first",
        description:
          'Admin only. Each delivery is one event sent (or being retried) to this receiver: its `webhook-id` (`id`), the event ' +
          'it carries, its status, attempts and last error. Pages with `limit` (1-100, default 25) and ' +
          '`starting_after` (the last id of the page before); `has_more` says whether another page exists.',
        security: SECURITY,
        params: id,
        querystring: Type.Object(
          { limit: Type.Optional(Type.String({ maxLength: 6 })), starting_after: Type.Optional(Id) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            { deliveries: Type.Array(Delivery), has_more: Type.Boolean() },
            { examples: [{ deliveries: [DELIVERY_EXAMPLE], has_more: false }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => {
      return listWebhookDeliveries(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.query as { limit?: string; starting_after?: string },
      );
    },
  );

  app.post(
    '/v1/operator/webhooks/:id/test',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a webhook.test event to this receiver',
        description:
          'Admin only. Queues one `webhook.test` event for this receiver only, whatever it subscribes to, ' +
          'signed like every other delivery; follow it in the deliveries list. A disabled receiver is 409 ' +
          'WRONG_STATE.',
        security: SECURITY,
        params: id,
        response: {
          202: Type.Object(
            {
              delivery_id: Type.String(),
              event_id: Type.Union([Type.String(), Type.Null()]),
              type: Type.Literal('webhook.test'),
            },
            {
              examples: [
                { delivery_id: EXAMPLE.deliveryId, event_id: EXAMPLE.eventId, type: 'webhook.test' },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request, reply) => {
      const queued = await sendTestWebhookEvent(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
      );
      return reply.status(202).send(queued);
    },
  );

  app.get(
    '/v1/webhook-event-types',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Every event type a webhook receiver can subscribe to',
        description:
          'No session needed: the catalogue of events, with what each means. Every body is `{ id, type, created_at, data }`; ' +
          'withdrawal events carry the withdrawal (id, asset, network, amount, fee, destination, state, txid where ' +
          'known) in `data`. Subscribing to a type not listed here is a 400.',
        response: {
          200: Type.Object(
            { event_types: Type.Array(Type.Object({ type: Type.String(), description: Type.String() })) },
            {
              examples: [
                {
                  event_types: [
                    {
                      type: 'withdrawal.requested',
                      description: 'A customer asked for a withdrawal; it awaits their second factor.',
                    },
                    {
                      type: 'withdrawal.completed',
                      description: 'The transaction confirmed on chain; the hold was posted.',
                    },
                  ],
                },
              ],
            },
          ),
        },
      },
    },
    async () => ({ event_types: eventCatalogue() }),
  );

  registerNotificationPreferenceRoutes(app, context);
}
