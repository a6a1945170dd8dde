import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { decideReview, resolveErrored } from '../../services/withdrawals/operator-decisions.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { ReviewStatusSchema } from './review-queue.ts';
import { WithdrawalSchema } from './withdrawals.ts';

/** An operator's decisions on one withdrawal: clearing the review queue, resolving an unknown custody outcome. */
export function registerOperatorDecisionRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.post(
    '/v1/operator/withdrawals/:id/review',
    {
      schema: {
        tags: ['operator'],
        summary: 'Decide a withdrawal held for review (risk analyst)',
        description:
          'approve records the approval and, once it has those it needs (two different operators above REVIEW_TWO_ANALYST_USD or without a USD value, else one), puts it back in the queue with a fresh cancel window (every release rule is weighed again at release); the same operator twice is 409 SAME_OPERATOR. reject ends it and voids its hold. The same as /v1/operator/review-queue/{id}/approve and /reject.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          {
            decision: Type.String({ enum: ['approve', 'reject'] }),
            reason: Type.String({ maxLength: 500 }),
          },
          { examples: [{ decision: 'approve', reason: 'destination confirmed with the customer by phone' }] },
        ),
        response: {
          200: Type.Intersect([WithdrawalSchema, Type.Object({ review: ReviewStatusSchema })]),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      decideReview(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { decision: string; reason: string },
      ),
  );

  app.post(
    '/v1/operator/withdrawals/:id/resolve',
    {
      schema: {
        tags: ['operator'],
        summary: 'Resolve an errored withdrawal after checking the chain (incident commander)',
        description:
          'paid (with the txid found on chain) completes it and posts its hold; not_paid cancels it and voids the hold.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          {
            outcome: Type.String({ enum: ['paid', 'not_paid'] }),
            txid: Type.Optional(Type.String({ maxLength: 128 })),
            reason: Type.String({ maxLength: 500 }),
          },
          {
            examples: [
              {
                outcome: 'paid',
                txid: '9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8',
                reason: 'found on chain with 6 confirmations',
              },
            ],
          },
        ),
        response: { 200: WithdrawalSchema, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      resolveErrored(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.body as { outcome: string; txid?: string; reason: string },
      ),
  );
}
