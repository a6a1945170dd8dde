import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { withdrawalChallenge } from '../../core/mfa/passkey-challenge.ts';
import { getAsset } from '../../core/money/index.ts';
import type { ScreeningDecision } from '../../core/risk/screening.ts';
import { proofHash } from '../../core/withdrawals/digest.ts';
import { digestOfTerms } from '../../core/withdrawals/proof-binding.ts';
import { fundsRefusal } from '../../core/withdrawals/request-checks.ts';
import { placeHold } from '../../store/ledger/index.ts';
import { availableOf } from '../../store/ledger/types.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { readConfirmation } from '../../store/withdrawal-confirmation.ts';
import {
  lockWithdrawal,
  type MoveStep,
  moveLockedWithdrawal,
  recordProof,
  updateWithdrawalDetails,
  type WithdrawalRow,
} from '../../store/withdrawals.ts';
import { raiseAlert } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import {
  attemptCountedAnyway,
  attemptOf,
  type RateLimitBuckets,
  refuseOverLimit,
} from '../identity/rate-limit.ts';
import { checkSecondFactor, factorMethodOf, parseProof } from '../identity/second-factor.ts';
import { type Authenticated, inRequestTransaction } from '../identity/sessions.ts';
import { issuePasskeyChallenge } from '../identity/step-up.ts';
import { notifyPrincipal } from '../notify.ts';
import { reportRuleHits } from '../risk/rule-hits.ts';
import { endWithdrawal } from './cancel.ts';
import { holdAccountsFor } from './ledger-accounts.ts';
import { notFoundWithdrawal } from './request.ts';
import {
  criticalResults,
  type EngineVerdict,
  fanInWindowsOf,
  type Screener,
  screenWithRuleSets,
  valuationOf,
} from './screening.ts';
import { viewWithdrawal } from './view.ts';

const DAY_MS = 24 * 60 * 60_000;

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
 * Confirmation bound to one withdrawal, in one transaction: the attempt is counted, the second factor is checked,
 * the proof row naming this withdrawal and its digest is stored, the hold (amount + fee) is placed, and screening
 * decides. A wrong factor counts (five cancel the withdrawal and lock second factors) and its count commits; a
 * transaction that rolls back still leaves its attempt counted.
 */
export async function confirmWithdrawal(
  context: ServiceContext,
  auth: Authenticated,
  id: string,
  input: { proof?: unknown },
  meta: RequestMeta,
  /** In place of the active rule set (tests of the screening contract); the rule engine when undefined. */
  screener?: Screener,
) {
  if (input.proof === undefined) throw invalidInput('proof', 'is required');
  const proof = parseProof(input.proof);
  const attempt: RateLimitBuckets = [
    ['mfa_per_ip', meta.ip],
    ['mfa_per_account', auth.principalId],
  ];
  let verdict: EngineVerdict | undefined;
  const outcome = await attemptCountedAnyway(context, attempt, () =>
    inRequestTransaction(context, auth, async (tx): Promise<Outcome> => {
      const now = context.clock.now();
      const subject = await readConfirmation(context.database, tx, {
        withdrawalId: id,
        principalId: auth.principalId,
        sessionId: auth.sessionId,
        method: factorMethodOf(proof),
        attempts: attemptOf(attempt),
        holdAccounts: (asset) => holdAccountsFor(auth.principalId, asset),
        now,
        since: new Date(now.getTime() - DAY_MS),
        fanInWindows: (ruleSets) => fanInWindowsOf(context, ruleSets),
      });
      refuseOverLimit(subject.attempts);
      const { withdrawal, principal } = subject;
      if (withdrawal === undefined || withdrawal.account_id !== auth.principalId)
        throw notFoundWithdrawal(id);
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
        await endWithdrawal(tx, context, withdrawal, 'expired', 'system:expiry', 'not confirmed in time');
        return {
          error: new DomainError(
            'WITHDRAWAL_EXPIRED',
            'the withdrawal expired before it was confirmed; request a new one',
            { details: { state: 'expired' } },
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
      if (principal === undefined || subject.hold === undefined) throw notFoundWithdrawal(id);
      const check = await checkSecondFactor(
        tx,
        context,
        auth.principalId,
        proof,
        { name: `withdrawal:${id}` },
        meta,
        principal,
        subject.factors,
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
      const [customer, inFlight] = subject.hold.accounts;
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
        subject.hold.locked,
      ).catch((error: unknown) => {
        // The ledger speaks of accounts and base units; the customer is told of their balance in the asset.
        if (!(error instanceof DomainError) || error.code !== 'INSUFFICIENT_FUNDS') throw error;
        const available = error.details?.available;
        throw (
          fundsRefusal({
            asset: getAsset(withdrawal.asset),
            amount: BigInt(withdrawal.amount),
            fee: BigInt(withdrawal.fee),
            available: typeof available === 'string' ? BigInt(available) : 0n,
          }) ?? error
        );
      });
      const proofId = newId();
      const screening = {
        ...withdrawal,
        state: 'screening' as const,
        proof_id: proofId,
        first_use: subject.destinationUsedBefore ? 0 : 1,
      };
      const engine = await screenWithRuleSets(
        tx,
        context,
        screening,
        principal,
        subject.screening,
        { availableBefore: availableOf(customer), firstUse: screening.first_use === 1 },
        screener,
      );
      const decision = engine.decision;
      // The proof first: the move into screening names it.
      await recordProof(tx, {
        id: proofId,
        withdrawal_id: id,
        account_id: auth.principalId,
        digest: withdrawal.digest,
        method: check.method,
        factor_id: check.factorId,
        evidence: JSON.stringify(evidence),
        proof_hash: proofHash(evidence),
        created_at: now.toISOString(),
      });
      const decided = await applyScreening(tx, context, screening, decision, {
        changes: {
          proof_id: proofId,
          first_use: screening.first_use,
          session_id: auth.sessionId,
          device_id: subject.screening.sessionDevice?.device_id ?? null,
          ...valuationOf(withdrawal, subject.screening, now),
        },
        actor,
        reason: `confirmed with ${check.method}`,
      });
      const critical = criticalResults(decision);
      if (critical.length > 0)
        await audit(tx, context, {
          actor: 'system:screening',
          action: 'withdrawal.screening_critical',
          subject: `withdrawal:${id}`,
          data: {
            severity: 'critical',
            outcome: decision.outcome,
            rule_set: engine.ruleSet.id,
            rule_set_version: engine.ruleSet.version,
            rules: critical.map((r) => ({ rule: r.rule, reason: r.reason })),
          },
        });
      // And an operator is paged: one alert per rule and destination (fan-in's many accounts make one, counted).
      for (const result of critical)
        await raiseAlert(tx, context, {
          kind: `screening.${result.rule}`.slice(0, 64),
          severity: 'critical',
          fingerprint: `${withdrawal.network}:${withdrawal.destination_address}`.slice(0, 200),
          title: `Screening: ${result.reason}`.slice(0, 200),
          subject: `withdrawal:${id}`,
          details: { withdrawal_id: id, account_id: withdrawal.account_id, outcome: decision.outcome },
        });
      verdict = engine;
      await audit(tx, context, {
        actor,
        action: 'withdrawal.confirmed',
        subject: `withdrawal:${id}`,
        data: { method: check.method, digest: withdrawal.digest, outcome: decided.state },
      });
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
        { antiPhishingCode: subject.antiPhishingCode },
      );
      return { view: viewWithdrawal(decided) };
    }),
  );
  if (verdict !== undefined && outcome.view !== undefined)
    reportRuleHits(context, verdict.decision, verdict.shadow);
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.view;
}

/**
 * Moves a confirmed withdrawal into screening and on to screening's outcome. `entering` is the move from
 * awaiting_confirmation into screening, not yet written: a queued, time-locked or held outcome is written with it in
 * one move (one statement, an event per hop); a rejection writes it first and then ends the withdrawal.
 */
export async function applyScreening(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  decision: ScreeningDecision,
  entering: {
    changes: Partial<WithdrawalRow>;
    actor: string;
    reason: string;
  },
): Promise<WithdrawalRow> {
  const now = context.clock.now();
  const enterScreening = { to: 'screening' as const, actor: entering.actor, reason: entering.reason };
  const screening = JSON.stringify(decision.results);
  const reason = decision.results
    .filter((r) => r.outcome === decision.outcome)
    .map((r) => r.reason)
    .join('; ');
  const at = now.toISOString();
  const move = (path: MoveStep[], changes: Partial<WithdrawalRow>) =>
    moveLockedWithdrawal(tx, {
      id: withdrawal.id,
      from: 'awaiting_confirmation',
      path: [enterScreening, ...path],
      changes: { ...entering.changes, screening, ...changes },
      at,
    });
  if (decision.outcome === 'reject') {
    await move([], {});
    await endWithdrawal(tx, context, withdrawal, 'rejected', 'system:screening', reason);
    return { ...withdrawal, ...entering.changes, state: 'rejected', screening, reason };
  }
  const step = (to: 'queued' | 'time_locked' | 'held_for_review'): MoveStep[] => [
    { to, actor: 'system:screening', reason: to === 'queued' ? null : reason },
  ];
  if (decision.outcome === 'time_lock') {
    const until = decision.until ?? at;
    await move(step('time_locked'), { reason, time_locked_until: until });
    return {
      ...withdrawal,
      ...entering.changes,
      state: 'time_locked',
      screening,
      reason,
      time_locked_until: until,
    };
  }
  if (decision.outcome !== 'approve') {
    // Review, and anything a screener should never answer here (a `wait`): held, fail closed.
    await move(step('held_for_review'), { reason });
    return { ...withdrawal, ...entering.changes, state: 'held_for_review', screening, reason };
  }
  const window =
    withdrawal.first_use === 1
      ? context.withdrawals.firstUseCancelWindowMs
      : context.withdrawals.cancelWindowMs;
  const releaseAfter = new Date(now.getTime() + window).toISOString();
  await move(step('queued'), { reason: null, release_after: releaseAfter });
  return {
    ...withdrawal,
    ...entering.changes,
    state: 'queued',
    screening,
    reason: null,
    release_after: releaseAfter,
  };
}
