import { DomainError, invalidInput } from '../../core/errors.ts';
import { holdMismatch } from '../../core/risk/release-rules.ts';
import { findHold } from '../../store/ledger/index.ts';
import { inTransaction } from '../../store/transaction.ts';
import { lockWithdrawal } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { type Actor, actorName, authorize } from '../identity/acting-operator.ts';
import { endWithdrawal } from './cancel.ts';
import { notFoundWithdrawal } from './request.ts';
import { approveReview, rejectReview } from './review-queue.ts';
import { completeWithdrawal } from './settlement.ts';
import { viewWithdrawal } from './view.ts';

function parseReason(input: unknown): string {
  if (typeof input !== 'string' || input.trim().length < 3 || input.length > 500)
    throw invalidInput('reason', 'must say why, in 3..500 characters');
  return input;
}

function wrongState(state: string, expected: string): DomainError {
  return new DomainError('WRONG_STATE', `the withdrawal is ${state}, not ${expected}`, {
    details: { state },
  });
}

/**
 * A risk analyst decides a withdrawal held for review: approve records their approval and, once it has the approvals
 * it needs (two different operators above REVIEW_TWO_ANALYST_USD or without a USD value, else one), sends it back to
 * the queue with a fresh cancel window (the customer may still cancel, and every release rule is weighed again at
 * release); reject ends it and voids the hold. The same as the review queue's approve and reject
 * (review-queue.ts): either way the decision, its reason and the operator are in the history and the audit log.
 */
export async function decideReview(
  context: ServiceContext,
  operator: Actor,
  id: string,
  input: { decision?: unknown; reason?: unknown },
) {
  authorize(operator, 'withdrawal.review');
  if (input.decision !== 'approve' && input.decision !== 'reject')
    throw invalidInput('decision', 'must be approve or reject');
  return input.decision === 'approve'
    ? approveReview(context, operator, id, { reason: input.reason })
    : rejectReview(context, operator, id, { reason: input.reason });
}

/**
 * An incident commander resolves an errored withdrawal after checking the chain: `paid` (with the txid found)
 * completes it and posts its hold; `not_paid` cancels it and voids the hold. Nothing resolves an errored
 * withdrawal automatically: custody's outcome was unknown.
 */
export async function resolveErrored(
  context: ServiceContext,
  operator: Actor,
  id: string,
  input: { outcome?: unknown; txid?: unknown; reason?: unknown },
) {
  authorize(operator, 'withdrawal.resolve');
  if (input.outcome !== 'paid' && input.outcome !== 'not_paid')
    throw invalidInput('outcome', 'must be paid or not_paid');
  const outcome = input.outcome;
  if (outcome === 'paid' && (typeof input.txid !== 'string' || !/^[A-Za-z0-9:_-]{8,128}$/.test(input.txid)))
    throw invalidInput('txid', 'is required with paid: the transaction found on chain');
  if (outcome === 'not_paid' && input.txid !== undefined) throw invalidInput('txid', 'is only for paid');
  const reason = parseReason(input.reason);
  const actor = actorName(operator);
  return inTransaction(context.database, async (tx) => {
    const withdrawal = await lockWithdrawal(context.database, tx, id);
    if (withdrawal === undefined) throw notFoundWithdrawal(id);
    if (withdrawal.state !== 'errored') throw wrongState(withdrawal.state, 'errored');
    if (outcome === 'not_paid') {
      await endWithdrawal(tx, context, withdrawal, 'cancelled', actor, reason);
      return viewWithdrawal({ ...withdrawal, state: 'cancelled', reason });
    }
    const txid = input.txid as string;
    if (withdrawal.txid !== null && withdrawal.txid !== txid)
      throw invalidInput('txid', `is not the txid custody broadcast (${withdrawal.txid})`);
    const mismatch = holdMismatch(withdrawal, await findHold(tx, withdrawal.id));
    if (mismatch !== undefined)
      throw new DomainError('WRONG_STATE', `it cannot be completed: ${mismatch}; resolve it as not_paid`, {
        details: { state: withdrawal.state },
      });
    await completeWithdrawal(tx, context, withdrawal, 'errored', actor, reason, txid);
    return viewWithdrawal({ ...withdrawal, state: 'completed', txid, reason: null });
  });
}
