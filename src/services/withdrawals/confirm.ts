import type { Compilable } from 'kysely';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { withdrawalChallenge } from '../../core/mfa/passkey-challenge.ts';
import { heldBecause } from '../../core/risk/screening.ts';
import { proofHash } from '../../core/withdrawals/digest.ts';
import { digestOfTerms } from '../../core/withdrawals/proof-binding.ts';
import { factorReads } from '../../store/identity/factors.ts';
import { lockPrincipalQuery } from '../../store/identity/principals.ts';
import { placeHold } from '../../store/ledger/index.ts';
import {
  inTransaction,
  lockRows,
  NO_READS,
  plainReads,
  readTogether,
  type Tx,
  together,
} from '../../store/transaction.ts';
import {
  destinationUsedBeforeQuery,
  lockWithdrawal,
  lockWithdrawalQuery,
  moveLockedWithdrawal,
  proofInsert,
  updateWithdrawalDetails,
  type WithdrawalRow,
} from '../../store/withdrawals.ts';
import { audit, auditInsert } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { enforceRateLimits } from '../identity/rate-limit.ts';
import { checkSecondFactor, factorMethodOf, parseProof } from '../identity/second-factor.ts';
import type { Authenticated } from '../identity/sessions.ts';
import { issuePasskeyChallenge } from '../identity/step-up.ts';
import { noticeReads, notifyPrincipal } from '../notify.ts';
import { endWithdrawal } from './cancel.ts';
import { customerAccountsForHold } from './ledger-accounts.ts';
import { notFoundWithdrawal } from './request.ts';
import { minimalScreener, type Screener } from './screening.ts';
import { viewWithdrawal } from './view.ts';

export const MAX_CONFIRM_FAILURES = 5;

async function ownWithdrawal(
  tx: Tx,
  context: ServiceContext,
  auth: Authenticated,
  id: string,
): Promise<WithdrawalRow> {
  const withdrawal = await lockWithdrawal(context.database, tx, id);
  if (withdrawal === undefined || withdrawal.account_id !== auth.principalId) throw notFoundWithdrawal(id);
  return withdrawal;
}

/**
 * A passkey challenge derived from this withdrawal's digest and nonce: the stored assertion is evidence anyone
 * with the public key can re-verify (as W3C Secure Payment Confirmation binds amount and payee).
 */
export async function withdrawalPasskeyChallenge(context: ServiceContext, auth: Authenticated, id: string) {
  return inTransaction(context.database, async (tx) => {
    const withdrawal = await ownWithdrawal(tx, context, auth, id);
    if (withdrawal.state !== 'awaiting_confirmation')
      throw new DomainError('WRONG_STATE', `the withdrawal is ${withdrawal.state}`, {
        details: { state: withdrawal.state },
      });
    return issuePasskeyChallenge(
      tx,
      context,
      auth.principalId,
      `withdrawal:${id}`,
      withdrawalChallenge(withdrawal.digest, withdrawal.nonce),
    );
  });
}

type Outcome =
  | { view: ReturnType<typeof viewWithdrawal>; error?: undefined }
  | { error: DomainError; view?: undefined };

/**
 * Confirmation bound to one withdrawal, in one transaction: the second factor is checked, the proof row naming
 * this withdrawal and its digest is stored, the hold (amount + fee) is placed, and screening decides. A wrong
 * factor counts (five cancel the withdrawal and lock second factors) and its count commits.
 */
export async function confirmWithdrawal(
  context: ServiceContext,
  auth: Authenticated,
  id: string,
  input: { proof?: unknown },
  meta: RequestMeta,
  screener: Screener<unknown> = minimalScreener,
) {
  if (input.proof === undefined) throw invalidInput('proof', 'is required');
  const proof = parseProof(input.proof);
  await enforceRateLimits(context, [
    ['mfa_per_ip', meta.ip],
    ['mfa_per_account', auth.principalId],
  ]);
  const outcome = await inTransaction(context.database, async (tx): Promise<Outcome> => {
    // The withdrawal and the account's row (the second factor's failure count), locked in one round trip.
    const [withdrawals, principals] = await together(
      tx,
      lockWithdrawalQuery(context.database, tx, id),
      lockPrincipalQuery(tx, auth.principalId, lockRows(context.database)),
    );
    const withdrawal = withdrawals.rows[0];
    if (withdrawal === undefined || withdrawal.account_id !== auth.principalId) throw notFoundWithdrawal(id);
    const principal = principals.rows[0];
    const now = context.clock.now();
    const actor = `customer:${auth.principalId}`;
    if (withdrawal.state !== 'awaiting_confirmation') {
      return {
        error: new DomainError(
          'WRONG_STATE',
          `the withdrawal is ${withdrawal.state}, not awaiting confirmation`,
          { details: { state: withdrawal.state } },
        ),
      };
    }
    if (withdrawal.expires_at <= now.toISOString()) {
      await endWithdrawal(tx, context, withdrawal, 'cancelled', 'system:expiry', 'not confirmed in time');
      return {
        error: new DomainError(
          'WITHDRAWAL_EXPIRED',
          'the withdrawal expired before it was confirmed; request a new one',
          { details: { state: 'cancelled' } },
        ),
      };
    }
    if (digestOfTerms(withdrawal) !== withdrawal.digest) {
      // The row was changed around the services: a proof would approve the digest the customer saw, while the
      // hold and the payment would follow the altered row. Refuse before any factor is spent, and end it.
      const reason = 'the withdrawal terms no longer match its digest';
      await endWithdrawal(tx, context, withdrawal, 'cancelled', 'system:integrity', reason);
      await audit(tx, context, {
        actor: 'system:integrity',
        action: 'withdrawal.integrity_refused',
        subject: `withdrawal:${id}`,
        data: { reason, digest: withdrawal.digest, severity: 'critical' },
      });
      return {
        error: new DomainError('TERMS_CHANGED', `${reason}; it was cancelled, request a new one`, {
          details: { state: 'cancelled' },
        }),
      };
    }
    if (principal === undefined) throw notFoundWithdrawal(id);
    // Everything else the confirmation reads, in one round trip: the factors the proof is checked against,
    // whether the destination was paid before, the customer's two accounts (locked for the hold), screening's
    // facts and the notice's settings. Reads only: a wrong factor wastes them and writes nothing more.
    const [factors, [used], accounts, screeningRead, noticeRead] = await readTogether(
      tx,
      factorReads(tx, principal, factorMethodOf(proof)),
      plainReads(destinationUsedBeforeQuery(tx, withdrawal.destination_id, id)),
      customerAccountsForHold(tx, auth.principalId, withdrawal.asset, now),
      screener.reads?.(tx, context, withdrawal) ?? NO_READS,
      noticeReads(tx, context, auth.principalId),
    );
    const check = await checkSecondFactor(
      tx,
      context,
      auth.principalId,
      proof,
      { name: `withdrawal:${id}` },
      meta,
      principal,
      factors,
    );
    if (!check.ok) {
      const failures = withdrawal.confirm_failures + 1;
      await updateWithdrawalDetails(tx, id, { confirm_failures: failures });
      if (failures >= MAX_CONFIRM_FAILURES) {
        await endWithdrawal(
          tx,
          context,
          { ...withdrawal, confirm_failures: failures },
          'cancelled',
          'system:mfa',
          `${MAX_CONFIRM_FAILURES} wrong second factors`,
        );
      }
      return { error: check.error };
    }

    const evidence = {
      v: 1,
      withdrawal_id: id,
      digest: withdrawal.digest,
      method: check.method,
      factor_id: check.factorId,
      ...check.evidence,
      ...(proof.method === 'passkey'
        ? { assertion: proof.response as Record<string, unknown>, nonce: withdrawal.nonce }
        : {}),
    };
    const proofId = newId();
    const firstUse = (used ?? []).length === 0;
    const [customer, inFlight] = accounts.accounts;
    await placeHold(
      tx,
      {
        id,
        debitAccountId: customer.id,
        creditAccountId: inFlight.id,
        asset: withdrawal.asset,
        amount: BigInt(withdrawal.amount) + BigInt(withdrawal.fee),
        code: 'withdrawal',
        reference: withdrawal.digest,
      },
      now,
      accounts.locked,
    );
    // The proof goes out with the move into screening, which names it, and that move with screening's outcome
    // (one statement, both events).
    const entering = {
      changes: { proof_id: proofId, first_use: firstUse ? 1 : 0 },
      actor,
      reason: `confirmed with ${check.method}`,
      before: [
        proofInsert(tx, {
          id: proofId,
          withdrawal_id: id,
          account_id: auth.principalId,
          digest: withdrawal.digest,
          method: check.method,
          factor_id: check.factorId,
          evidence: JSON.stringify(evidence),
          proof_hash: proofHash(evidence),
          created_at: now.toISOString(),
        }),
      ],
    };
    const screening = { ...withdrawal, state: 'screening' as const, ...entering.changes };
    const decided = await applyScreening(tx, context, screening, screener, entering, screeningRead);
    const confirmed = auditInsert(tx, context, {
      actor,
      action: 'withdrawal.confirmed',
      subject: `withdrawal:${id}`,
      data: { method: check.method, digest: withdrawal.digest, outcome: decided.state },
    });
    // The audit entry goes out with the notice's writes.
    await notifyPrincipal(
      tx,
      context,
      principal,
      {
        event: 'withdrawal.confirmed',
        headline: `Withdrawal confirmed: ${withdrawal.summary}`,
        lines: [`Status: ${decided.state}.`, 'You can cancel it until it is released.'],
        meta,
      },
      [confirmed],
      noticeRead,
    );
    return { view: viewWithdrawal(decided) };
  });
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.view;
}

/**
 * Runs screening and moves the withdrawal to its outcome; a screener that throws holds it (fail closed).
 * `entering` is the move from awaiting_confirmation into screening, not yet written: a queued outcome is written
 * with it in one statement; the rarer outcomes write it first and then go their own way.
 */
export async function applyScreening(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  screener: Screener<unknown>,
  entering: {
    changes: Partial<WithdrawalRow>;
    actor: string;
    reason: string;
    /** Writes the move into screening needs first (the proof it names). */
    before?: readonly Compilable<unknown>[];
  },
  /** What `screener.reads` gave, when the caller sent them with its own reads. */
  read?: unknown,
): Promise<WithdrawalRow> {
  const now = context.clock.now();
  const enterScreening = { to: 'screening' as const, actor: entering.actor, reason: entering.reason };
  let decision: Awaited<ReturnType<Screener['screen']>>;
  try {
    decision = await screener.screen(tx, context, withdrawal, read);
  } catch (error) {
    decision = heldBecause('screener', error, 'screening failed');
  }
  const screening = JSON.stringify(decision.results);
  const reason = decision.results
    .filter((r) => r.outcome === decision.outcome)
    .map((r) => r.reason)
    .join('; ');
  const at = now.toISOString();
  // Into screening and on to its outcome in one move: one statement, an event per hop.
  const move = (to: 'queued' | 'time_locked' | 'held_for_review', changes: Partial<WithdrawalRow>) =>
    moveLockedWithdrawal(tx, {
      id: withdrawal.id,
      from: 'awaiting_confirmation',
      path: [enterScreening, { to, actor: 'system:screening', reason: to === 'queued' ? null : reason }],
      changes: { ...entering.changes, screening, ...changes },
      at,
      before: entering.before ?? [],
    });
  if (decision.outcome === 'reject') {
    // Rejected from screening with the hold voided: the move and the void go together (endWithdrawal).
    await moveLockedWithdrawal(tx, {
      id: withdrawal.id,
      from: 'awaiting_confirmation',
      path: [enterScreening],
      changes: { ...entering.changes, screening },
      at,
      before: entering.before ?? [],
    });
    await endWithdrawal(tx, context, withdrawal, 'rejected', 'system:screening', reason);
    return { ...withdrawal, state: 'rejected', screening, reason };
  }
  if (decision.outcome === 'time_lock') {
    const until = decision.until ?? at;
    await move('time_locked', { reason, time_locked_until: until });
    return { ...withdrawal, state: 'time_locked', screening, reason, time_locked_until: until };
  }
  if (decision.outcome !== 'approve') {
    // Review, and anything a screener should never answer here (a `wait`): held, fail closed.
    await move('held_for_review', { reason });
    return { ...withdrawal, state: 'held_for_review', screening, reason };
  }
  const window =
    withdrawal.first_use === 1
      ? context.withdrawals.firstUseCancelWindowMs
      : context.withdrawals.cancelWindowMs;
  const releaseAfter = new Date(now.getTime() + window).toISOString();
  await move('queued', { reason: null, release_after: releaseAfter });
  return { ...withdrawal, state: 'queued', screening, reason: null, release_after: releaseAfter };
}
