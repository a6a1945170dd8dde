import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import {
  approveReview,
  listReviewQueue,
  REVIEW_QUEUE_PAGE,
  rejectReview,
  showReview,
} from '../../services/withdrawals/review-queue.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { WithdrawalSchema } from './withdrawals.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** Where one withdrawal's review stands (the two-analyst rule). */
export const ReviewStatusSchema = Type.Object(
  {
    approvals_required: Type.Integer({
      description: '2 above REVIEW_TWO_ANALYST_USD or without a USD value (unpriced), else 1',
    }),
    approvals: Type.Array(
      Type.Object({
        operator_id: Type.String(),
        actor: Type.String(),
        reason: Type.String(),
        at: Type.String(),
      }),
    ),
    status: Type.String({ description: 'as words: "1 of 2 approvals"' }),
    threshold_usd: Type.String({ description: 'REVIEW_TWO_ANALYST_USD in force' }),
    unpriced: Type.Boolean({ description: 'no USD value was stored at confirmation (counts as above)' }),
  },
  {
    examples: [
      {
        approvals_required: 2,
        approvals: [
          {
            operator_id: EXAMPLE.operatorId,
            actor: `operator:${EXAMPLE.operatorId}`,
            reason: 'destination confirmed with the customer by phone',
            at: '2026-11-28T12:05:00.000Z',
          },
        ],
        status: '1 of 2 approvals',
        threshold_usd: '10000.00',
        unpriced: false,
      },
    ],
  },
);

const ReviewedWithdrawal = Type.Intersect([WithdrawalSchema, Type.Object({ review: ReviewStatusSchema })]);

const QueueItem = Type.Intersect([
  WithdrawalSchema,
  Type.Object({
    account_id: Type.String(),
    held_since: Type.String({ description: 'when it entered held_for_review' }),
    rules: Type.Array(
      Type.Object({
        rule: Type.String(),
        version: Type.Integer(),
        outcome: Type.String(),
        reason: Type.String(),
      }),
      { description: "each screening rule's result, as stored on the withdrawal" },
    ),
    facts: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description:
        'the facts the rules decided on at confirmation, as the active rule set recorded them: `{rule_set: {id, ' +
        'version}, evaluated_at, facts}`; null when none was recorded (held at release by the release rules, ' +
        'whose reasons are in `reason` and `rules`)',
    }),
    price: Type.Union([
      Type.Object({ usd: Type.String(), at: Nullable(Type.String()), source: Nullable(Type.String()) }),
      Type.Null(),
    ]),
    review: ReviewStatusSchema,
  }),
]);

const ReasonBody = Body(
  { reason: Type.String({ maxLength: 500 }) },
  { examples: [{ reason: 'destination confirmed with the customer by phone' }] },
);

/** The review queue: what is held for an operator, and the two-analyst approvals that release it. */
export function registerReviewQueueRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.get(
    '/v1/operator/review-queue',
    {
      schema: {
        tags: ['operator'],
        summary:
          'Withdrawals held for review, longest held first, with what decided them and their approvals',
        description:
          'Any operator role: every withdrawal held for review, the longest held first, with each screening ' +
          "rule's result, the USD value stored at confirmation and the price point, and the approvals so far " +
          `(\`review\`); \`limit\` 1 to ${REVIEW_QUEUE_PAGE.max} (default ${REVIEW_QUEUE_PAGE.default}), ` +
          '`starting_after` the last id of the page before, `has_more` whether another page follows.',
        security: SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ maxLength: 6 })),
            starting_after: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ withdrawals: Type.Array(QueueItem), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      listReviewQueue(context, actingOperator(authOf(request)), request.query as Record<string, unknown>),
  );

  app.get(
    '/v1/operator/review-queue/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'One withdrawal as the review queue shows it',
        description:
          'Any operator role: the withdrawal with its rules, USD value and the approvals of its current (or ' +
          'last) hold. An unknown id is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: QueueItem, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      showReview(context, actingOperator(authOf(request)), (request.params as { id: string }).id),
  );

  app.post(
    '/v1/operator/review-queue/:id/approve',
    {
      schema: {
        tags: ['operator'],
        summary: 'Approve a held withdrawal (two different operators above REVIEW_TWO_ANALYST_USD)',
        description:
          'Risk analyst or admin, with a `reason` (3 to 500 characters). At or below REVIEW_TWO_ANALYST_USD ' +
          'one approval queues it with a fresh cancel window. Above it, or without a USD value, the first ' +
          'approval is recorded and it stays held ("1 of 2 approvals"); the second, by a different operator, ' +
          'queues it. The same operator twice is 409 SAME_OPERATOR (an admin too); a withdrawal not held is ' +
          '409 WRONG_STATE. Audited.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: ReasonBody,
        response: { 200: ReviewedWithdrawal, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      approveReview(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { reason: string },
      ),
  );

  app.post(
    '/v1/operator/review-queue/:id/reject',
    {
      schema: {
        tags: ['operator'],
        summary: 'Reject a held withdrawal: it ends and its hold is voided',
        description:
          'Risk analyst or admin, with a `reason` (3 to 500 characters): one reject ends the review whatever ' +
          'the value and the approvals so far. A withdrawal not held is 409 WRONG_STATE. Audited.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { reason: Type.String({ maxLength: 500 }) },
          { examples: [{ reason: 'the customer says they did not ask for it' }] },
        ),
        response: { 200: ReviewedWithdrawal, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      rejectReview(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { reason: string },
      ),
  );
}
