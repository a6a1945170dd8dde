import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { pageOf, parseIdField, parsePage } from '../../core/list-query.ts';
import { formatUsd } from '../../core/money/usd.ts';
import { approvalStatus, approvalsRequired } from '../../core/withdrawals/review-threshold.ts';
import {
  approvalsOf,
  heldForReview,
  holdRound,
  holdsOf,
  insertApproval,
  isUniqueViolation,
  type ReviewApprovalRow,
} from '../../store/review-approvals.ts';
import { activeEvaluationsOf, type RuleEvaluationRow } from '../../store/rule-sets.ts';
import { inTransaction, type Queryable } from '../../store/transaction.ts';
import {
  findWithdrawal,
  lockWithdrawal,
  moveLockedWithdrawal,
  type WithdrawalRow,
} from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { type Actor, actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { endWithdrawal } from './cancel.ts';
import { rulesOf } from './query.ts';
import { notFoundWithdrawal } from './request.ts';
import { viewWithdrawal } from './view.ts';

/**
 * The review queue and the two-analyst rule (DESIGN "Roles": a large approval needs a second, different operator).
 * A withdrawal held for review whose USD value at confirmation is above REVIEW_TWO_ANALYST_USD, or that has no USD
 * value (fail closed), is released to the queue only by the approvals of two different operators; below it one
 * suffices. A reject by any permitted operator ends it at once. Every approval is a row of review_approvals (whose
 * UNIQUE key refuses the same operator twice on one hold), an audit entry, and part of the withdrawal's history
 * as operators see it.
 */

export const REVIEW_QUEUE_PAGE = { default: 50, max: 200 };

function parseReason(input: unknown): string {
  if (typeof input !== 'string' || input.trim().length < 3 || input.length > 500)
    throw invalidInput('reason', 'must say why, in 3..500 characters');
  return input;
}

function wrongState(state: string): DomainError {
  return new DomainError('WRONG_STATE', `the withdrawal is ${state}, not held for review`, {
    details: { state },
  });
}

function sameOperator(operatorId: string): DomainError {
  return new DomainError(
    'SAME_OPERATOR',
    'you have already approved this withdrawal: the second approval must come from a different operator',
    { details: { operator_id: operatorId } },
  );
}

/** Where the review of one withdrawal stands: how many approvals it needs, those it has, and as words. */
export interface ReviewStatus {
  readonly approvals_required: 1 | 2;
  readonly approvals: readonly {
    readonly operator_id: string;
    readonly actor: string;
    readonly reason: string;
    readonly at: string;
  }[];
  /** "1 of 2 approvals". */
  readonly status: string;
  /** The threshold in force (USD, 2 decimals): above it, or without a USD value, two operators must approve. */
  readonly threshold_usd: string;
  /** No USD value was stored at confirmation: counted as above the threshold. */
  readonly unpriced: boolean;
}

function reviewStatus(
  context: ServiceContext,
  row: WithdrawalRow,
  approvals: readonly ReviewApprovalRow[],
): ReviewStatus {
  const required = approvalsRequired(row.usd_value, context.withdrawals.reviewTwoAnalystUsd);
  return {
    approvals_required: required,
    approvals: approvals.map((a) => ({
      operator_id: a.operator_id,
      actor: `operator:${a.operator_id}`,
      reason: a.reason,
      at: a.at,
    })),
    status: approvalStatus(approvals.length, required),
    threshold_usd: formatUsd(context.withdrawals.reviewTwoAnalystUsd, { places: 2, rounding: 'down' }),
    unpriced: row.usd_value === null,
  };
}

/**
 * The facts the rules decided on at confirmation, as the active rule set's evaluation recorded them (with the set
 * and version that decided), the latest when there are several; null when none was recorded (a withdrawal held
 * at release by the release rules, whose reasons are in `reason` and `rules`).
 */
function factsOf(evaluation: RuleEvaluationRow | undefined): Record<string, unknown> | null {
  if (evaluation === undefined) return null;
  let facts: unknown;
  try {
    facts = JSON.parse(evaluation.facts);
  } catch {
    facts = null;
  }
  return {
    rule_set: { id: evaluation.rule_set_id, version: evaluation.rule_set_version },
    evaluated_at: evaluation.at,
    facts,
  };
}

async function queueItems(on: Queryable, context: ServiceContext, rows: readonly WithdrawalRow[]) {
  const ids = rows.map((row) => row.id);
  const holds = await holdsOf(on, ids);
  const evaluations = new Map<string, RuleEvaluationRow>();
  for (const evaluation of await activeEvaluationsOf(on, ids))
    evaluations.set(evaluation.withdrawal_id, evaluation);
  return rows.map((row) => {
    const hold = holds.get(row.id);
    return {
      ...viewWithdrawal(row),
      account_id: row.account_id,
      held_since: hold?.heldSince ?? row.updated_at,
      rules: rulesOf(row.screening),
      facts: factsOf(evaluations.get(row.id)),
      price:
        row.usd_price === null
          ? null
          : { usd: row.usd_price, at: row.usd_price_at, source: row.usd_price_source },
      review: reviewStatus(context, row, hold?.approvals ?? []),
    };
  });
}

export type ReviewQueueItem = Awaited<ReturnType<typeof queueItems>>[number];

/** The withdrawals held for review, longest held first, each with its rules, value and approvals so far. */
export async function listReviewQueue(
  context: ServiceContext,
  actor: OperatorActor,
  query: { readonly limit?: unknown; readonly starting_after?: unknown } = {},
) {
  authorize(actor, 'withdrawal.read');
  const wanted = parsePage(query, REVIEW_QUEUE_PAGE);
  const rows = await heldForReview(context.database, wanted.limit + 1, wanted.startingAfter);
  if (rows === undefined)
    throw invalidInput('starting_after', 'is not a withdrawal that was held for review');
  const { items, hasMore } = pageOf(rows, wanted);
  const withdrawals: ReviewQueueItem[] = await queueItems(
    context.database,
    context,
    items.map((item) => item.row),
  );
  return { withdrawals, has_more: hasMore };
}

/** One withdrawal as the review queue shows it (any state: its current or last hold's approvals). */
export async function showReview(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'withdrawal.read');
  const wanted = parseIdField('id', id);
  const row = await findWithdrawal(context.database, wanted);
  if (row === undefined) throw notFoundWithdrawal(wanted);
  const [item] = await queueItems(context.database, context, [row]);
  return item as ReviewQueueItem;
}

/**
 * An operator approves a withdrawal held for review. Below the threshold this one approval sends it back to the queue
 * with a fresh cancel window (the customer may still cancel, and every release rule is weighed again at release).
 * Above it (or unpriced) the first approval is recorded and it stays held ("1 of 2 approvals"); the second, by a
 * different operator, queues it. The same operator twice is SAME_OPERATOR (409), refused by the database as well.
 */
export async function approveReview(
  context: ServiceContext,
  operator: Actor,
  id: string,
  input: { reason?: unknown },
) {
  const acting = authorize(operator, 'withdrawal.review');
  const reason = parseReason(input.reason);
  const withdrawalId = parseIdField('id', id);
  const actor = actorName(acting);
  try {
    return await inTransaction(context.database, async (tx) => {
      const withdrawal = await lockWithdrawal(context.database, tx, withdrawalId);
      if (withdrawal === undefined) throw notFoundWithdrawal(withdrawalId);
      if (withdrawal.state !== 'held_for_review') throw wrongState(withdrawal.state);
      const round = await holdRound(tx, withdrawalId);
      const before = await approvalsOf(tx, withdrawalId, round);
      if (before.some((a) => a.operator_id === acting.id)) throw sameOperator(acting.id);
      const now = context.clock.now();
      const approval = {
        id: newId(),
        withdrawal_id: withdrawalId,
        hold_round: round,
        operator_id: acting.id,
        reason,
        at: now.toISOString(),
      };
      await insertApproval(tx, approval);
      const approvals = [...before, approval];
      const review = reviewStatus(context, withdrawal, approvals);
      await audit(tx, context, {
        actor,
        action: 'withdrawal.review_approval',
        subject: `withdrawal:${withdrawalId}`,
        data: {
          reason,
          approval: approvals.length,
          required: review.approvals_required,
          usd_value: withdrawal.usd_value,
        },
      });
      if (approvals.length < review.approvals_required) {
        return { ...viewWithdrawal(withdrawal), review };
      }
      const windowMs =
        withdrawal.first_use === 1
          ? context.withdrawals.firstUseCancelWindowMs
          : context.withdrawals.cancelWindowMs;
      const changes = {
        release_after: new Date(now.getTime() + windowMs).toISOString(),
        reason: null,
      };
      await moveLockedWithdrawal(tx, {
        id: withdrawalId,
        from: 'held_for_review',
        path: [{ to: 'queued', actor, reason }],
        changes,
        at: now.toISOString(),
      });
      await audit(tx, context, {
        actor,
        action: 'withdrawal.review_approved',
        subject: `withdrawal:${withdrawalId}`,
        data: { reason, approved_by: approvals.map((a) => `operator:${a.operator_id}`) },
      });
      return { ...viewWithdrawal({ ...withdrawal, ...changes, state: 'queued' }), review };
    });
  } catch (error) {
    // Two approvals by one operator racing past the check: the UNIQUE key refused the second.
    if (isUniqueViolation(error)) throw sameOperator(acting.id);
    throw error;
  }
}

/** An operator rejects a withdrawal held for review: it ends at once and its hold is voided, whatever its value. */
export async function rejectReview(
  context: ServiceContext,
  operator: Actor,
  id: string,
  input: { reason?: unknown },
) {
  const acting = authorize(operator, 'withdrawal.review');
  const reason = parseReason(input.reason);
  const withdrawalId = parseIdField('id', id);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const withdrawal = await lockWithdrawal(context.database, tx, withdrawalId);
    if (withdrawal === undefined) throw notFoundWithdrawal(withdrawalId);
    if (withdrawal.state !== 'held_for_review') throw wrongState(withdrawal.state);
    const approvals = await approvalsOf(tx, withdrawalId, await holdRound(tx, withdrawalId));
    await endWithdrawal(tx, context, withdrawal, 'rejected', actor, reason);
    return {
      ...viewWithdrawal({ ...withdrawal, state: 'rejected', reason }),
      review: reviewStatus(context, withdrawal, approvals),
    };
  });
}
