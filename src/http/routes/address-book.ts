import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { addAddress, listAddresses, removeAddress, setCoolingPeriod } from '../../services/address-book.ts';
import type { ServiceContext } from '../../services/context.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Entry = Type.Object({
  id: Type.String(),
  network: Type.String(),
  address: Type.String(),
  address_type: Type.String(),
  label: Type.String(),
  created_at: Type.String(),
  usable_from: Type.String({ description: 'withdrawals to this entry are refused before this time' }),
  cooled: Type.Boolean(),
});

/**
 * `step_up_token` is optional in the schemas on purpose: a change without one is answered by the service with
 * 403 STEP_UP_REQUIRED naming the action to step up for, not with a bare 400 about a missing field.
 */
export function registerAddressBookRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/address-book',
    {
      schema: {
        tags: ['address-book'],
        summary: 'My withdrawal destinations and when each becomes usable',
        security: SECURITY,
        response: {
          200: Type.Object({ cooling_period_ms: Type.Integer(), entries: Type.Array(Entry) }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => listAddresses(context, authOf(request)),
  );

  app.post(
    '/v1/address-book',
    {
      schema: {
        tags: ['address-book'],
        summary:
          'Add a destination (step-up "address_book.add"); usable after the cooling period (24 h default)',
        security: SECURITY,
        body: Body({
          network: Type.String({ maxLength: 32 }),
          address: Type.String({ maxLength: 128 }),
          label: Type.String({ maxLength: 256 }),
          step_up_token: Type.Optional(StepUpToken),
        }),
        response: { 201: Entry, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await addAddress(
            context,
            authOf(request),
            (request.body ?? {}) as Record<string, unknown>,
            requestMeta(request),
          ),
        ),
  );

  app.delete(
    '/v1/address-book/:id',
    {
      schema: {
        tags: ['address-book'],
        summary:
          'Remove a destination (step-up "address_book.remove"); adding it again starts the cooling again',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ step_up_token: Type.Optional(StepUpToken) }),
        response: {
          200: Type.Object({ id: Type.String(), removed_at: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
      // A DELETE often comes without a body: treat it as an empty one, so the answer is the 403 naming the
      // step-up action to take, not a 400 about the body's shape.
      preValidation: async (request) => {
        request.body ??= {};
      },
      ...customer,
    },
    async (request) =>
      removeAddress(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        (request.body ?? {}) as Record<string, unknown>,
        requestMeta(request),
      ),
  );

  app.put(
    '/v1/address-book/settings',
    {
      schema: {
        tags: ['address-book'],
        summary:
          'Set my cooling period, 24..168 h (step-up "address_book.settings"); shortening waits out the current period',
        security: SECURITY,
        body: Body({ cooling_period_hours: Type.Integer(), step_up_token: Type.Optional(StepUpToken) }),
        response: {
          200: Type.Object({ cooling_period_ms: Type.Integer(), effective_at: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) =>
      setCoolingPeriod(
        context,
        authOf(request),
        (request.body ?? {}) as Record<string, unknown>,
        requestMeta(request),
      ),
  );
}
