import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { addAddress, listAddresses, removeAddress, setCoolingPeriod } from '../../services/address-book.ts';
import type { ServiceContext } from '../../services/context.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

/** One address-book entry, as the reference shows it. */
const ENTRY_EXAMPLE = {
  id: EXAMPLE.destinationId,
  network: 'bitcoin',
  address: EXAMPLE.btcAddress,
  address_type: 'p2wpkh',
  label: 'Cold wallet',
  created_at: '2026-11-27T12:00:30.000Z',
  usable_from: '2026-11-28T12:00:30.000Z',
  cooled: true,
};

const Entry = Type.Object(
  {
    id: Type.String(),
    network: Type.String(),
    address: Type.String(),
    address_type: Type.String(),
    label: Type.String(),
    created_at: Type.String(),
    usable_from: Type.String({
      description:
        'the end of its cooling: a withdrawal to this entry confirmed before then is time-locked until it',
    }),
    cooled: Type.Boolean(),
  },
  {
    examples: [ENTRY_EXAMPLE],
  },
);

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
        description:
          "For the signed-in customer: the account's cooling period (`cooling_period_ms`) and its entries " +
          '(up to 200), each with `usable_from`, the end of its cooling, and `cooled`, whether that has ' +
          'passed. A withdrawal to an entry still cooling is time-locked until `usable_from`.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { cooling_period_ms: Type.Integer(), entries: Type.Array(Entry) },
            { examples: [{ cooling_period_ms: 86_400_000, entries: [ENTRY_EXAMPLE] }] },
          ),
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
        description:
          'For the signed-in customer, with a step-up token for `address_book.add` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action). Adds `address` on `network` (checked and normalised for ' +
          'that network) under `label` and emails the customer; withdrawals to it are time-locked until ' +
          "`usable_from`, the end of the account's cooling period (24 h by default). The same address again " +
          'is 409 ALREADY_EXISTS, a 201st entry 409 LIMIT_REACHED, a malformed address or label a 400.',
        security: SECURITY,
        body: Body(
          {
            network: Type.String({ maxLength: 32 }),
            address: Type.String({ maxLength: 128 }),
            label: Type.String({ maxLength: 256 }),
            step_up_token: Type.Optional(StepUpToken),
          },
          {
            examples: [
              {
                network: 'bitcoin',
                address: EXAMPLE.btcAddress,
                label: 'Cold wallet',
                step_up_token: EXAMPLE.stepUpToken,
              },
            ],
          },
        ),
        response: {
          201: Type.Object(Entry.properties, {
            examples: [
              {
                ...ENTRY_EXAMPLE,
                created_at: '2026-11-28T12:02:01.000Z',
                usable_from: '2026-11-29T12:02:01.000Z',
                cooled: false,
              },
            ],
          }),
          ...PROBLEM_RESPONSES,
        },
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
        description:
          'For the signed-in customer, with a step-up token for `address_book.remove` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action) in the body. Removes the entry and emails the customer; ' +
          'adding the address again makes a new entry that cools from the start. An unknown or already ' +
          'removed entry is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: {
          200: Type.Object(
            { id: Type.String(), removed_at: Type.String() },
            { examples: [{ id: EXAMPLE.destinationId, removed_at: '2026-11-28T12:05:00.000Z' }] },
          ),
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
        description:
          'For the signed-in customer, with a step-up token for `address_book.settings` (without one: 403 ' +
          "STEP_UP_REQUIRED naming the action). Sets the account's cooling period, a whole number of hours " +
          'from 24 to 168: lengthening applies at once, shortening only once the current period has passed ' +
          '(`effective_at`), and the newest choice replaces any change still waiting; the customer is ' +
          'emailed. With 8 shortenings already waiting, another is 409 LIMIT_REACHED.',
        security: SECURITY,
        body: Body(
          { cooling_period_hours: Type.Integer(), step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ cooling_period_hours: 72, step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: {
          200: Type.Object(
            { cooling_period_ms: Type.Integer(), effective_at: Type.String() },
            { examples: [{ cooling_period_ms: 259_200_000, effective_at: '2026-11-28T12:05:00.000Z' }] },
          ),
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
