import { signedVerdictOf } from '../../core/monitor/verdict.ts';
import { notHalted, RELEASE_RULES, type ReleaseFacts } from '../../core/risk/release-rules.ts';
import { heldBecause, type Rule, type ScreeningDecision, screen } from '../../core/risk/screening.ts';
import { signRelease } from '../../core/withdrawals/attestation.ts';
import { inTransaction } from '../../store/transaction.ts';
import {
  countDueHalted,
  dueIds,
  lockWithdrawalForRelease,
  moveLockedWithdrawal,
  type WithdrawalRow,
  withdrawalsIn,
} from '../../store/withdrawals.ts';
import { raiseAlert } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import type { Custody } from '../custody/handover.ts';
import { endWithdrawal } from './cancel.ts';
import { submitToCustody } from './custody-handover.ts';
import { gatherReleaseFacts } from './release-facts.ts';
import { requeueEndedTimeLocks } from './time-locks.ts';

/** Withdrawals one pass takes of each kind; the rest wait for the next pass (never released unchecked). */
const BATCH = 50;
const ACTOR = 'system:releaser';

export type ReleaseResult =
  | 'released'
  | 'halted'
  | 'awaiting_monitor'
  | 'time_locked'
  | 'held'
  | 'cancelled'
  | 'skipped';

/**
 * Releases one queued withdrawal if every release rule still approves at this moment, in one transaction, and
 * signs its release attestation. Anything but approve keeps the money where it is: a halt leaves it queued; a
 * time lock or a review moves it there; a rejection (the destination is gone) cancels it and voids the hold. A
 * rule that throws, or facts that cannot be read, hold it; an integrity failure is audited as critical.
 */
export async function releaseOne(
  context: ServiceContext,
  id: string,
  rules: readonly Rule<ReleaseFacts>[] = RELEASE_RULES,
): Promise<{ result: ReleaseResult; withdrawal?: WithdrawalRow }> {
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const at = now.toISOString();
    const withdrawal = await lockWithdrawalForRelease(context.database, tx, id);
    if (
      withdrawal === undefined ||
      withdrawal.state !== 'queued' ||
      withdrawal.release_after === null ||
      withdrawal.release_after > at
    ) {
      return { result: 'skipped' as const };
    }
    let facts: ReleaseFacts | undefined;
    let decision: ScreeningDecision;
    try {
      facts = await gatherReleaseFacts(context, tx, withdrawal, now);
      decision = screen(rules, facts);
    } catch (error) {
      decision = heldBecause('release_facts', error, 'the release facts could not be read');
    }
    const reason = decision.results
      .filter((result) => result.outcome === decision.outcome)
      .map((result) => result.reason)
      .join('; ');
    const critical = decision.results.filter((result) => result.critical === true);
    if (critical.length > 0) {
      await audit(tx, context, {
        actor: ACTOR,
        action: 'withdrawal.release_refused',
        subject: `withdrawal:${id}`,
        data: {
          reason: critical.map((result) => result.reason).join('; '),
          rules: critical.map((result) => result.rule),
          severity: 'critical',
        },
      });
    }
    const hold = async (to: 'time_locked' | 'held_for_review', changes: Partial<WithdrawalRow>) => {
      const why = changes.reason ?? reason;
      await moveLockedWithdrawal(tx, {
        id,
        from: 'queued',
        path: [{ to, actor: ACTOR, reason: why }],
        changes: { ...changes, reason: why },
        at,
      });
    };
    // Integrity before anything that could end the withdrawal quietly: a row altered in the database is held and
    // reported, not cancelled as if its destination had merely been removed.
    if (critical.length > 0) {
      await hold('held_for_review', {
        reason: `refused at release: ${critical.map((result) => result.reason).join('; ')}`,
      });
      return { result: 'held' as const };
    }
    if (decision.outcome === 'wait') {
      const halted = decision.results.some((r) => r.outcome === 'wait' && r.rule === notHalted.name);
      if (halted) return { result: 'halted' as const };
      // Due and still without the monitor's verdict: nothing leaves (fail closed); past the lag, an alert says why.
      const waitedMs = now.getTime() - Date.parse(withdrawal.release_after);
      if (waitedMs > context.monitorMaxLagMs) {
        await raiseAlert(tx, context, {
          kind: 'monitor.lagging',
          severity: 'critical',
          fingerprint: 'monitor',
          title:
            'Withdrawals are due but the independent monitor has not signed their verdicts: nothing is released',
          subject: `withdrawal:${id}`,
          details: { withdrawal_id: id, waited_seconds: Math.floor(waitedMs / 1000) },
        });
      }
      return { result: 'awaiting_monitor' as const };
    }
    if (decision.outcome === 'time_lock') {
      await hold('time_locked', { time_locked_until: decision.until ?? at });
      return { result: 'time_locked' as const };
    }
    if (decision.outcome === 'reject') {
      await endWithdrawal(tx, context, withdrawal, 'cancelled', ACTOR, reason);
      return { result: 'cancelled' as const };
    }
    if (decision.outcome !== 'approve' || facts === undefined || !facts.proof.ok) {
      await hold('held_for_review', {
        reason: critical.length > 0 ? `refused at release: ${reason}` : reason,
      });
      return { result: 'held' as const };
    }
    const approval = facts.verdicts.approve;
    const verdict = approval === undefined ? undefined : signedVerdictOf(approval);
    if (verdict === undefined) {
      await hold('held_for_review', { reason: "the monitor's verdict could not be read" });
      return { result: 'held' as const };
    }
    const attestation = signRelease(
      context.releaseKey,
      {
        withdrawal_id: id,
        digest: withdrawal.digest,
        proof_hash: facts.proof.proofHash,
        asset: withdrawal.asset,
        network: withdrawal.network,
        amount: withdrawal.amount,
        destination: withdrawal.destination_address,
        released_at: at,
      },
      verdict,
    );
    const changes = { attestation: JSON.stringify(attestation), reason: null, released_at: at };
    await moveLockedWithdrawal(tx, {
      id,
      from: 'queued',
      path: [{ to: 'released', actor: ACTOR, reason: null }],
      changes,
      at,
    });
    await audit(tx, context, {
      actor: ACTOR,
      action: 'withdrawal.released',
      subject: `withdrawal:${id}`,
      data: { proof_hash: facts.proof.proofHash, key_id: attestation.key_id },
    });
    return {
      result: 'released' as const,
      withdrawal: { ...withdrawal, ...changes, state: 'released' as const },
    };
  });
}

/** One pass of the releaser: bounded, safe to run on any number of nodes at once. */
export async function releaseDue(
  context: ServiceContext,
  custody: Custody,
): Promise<Record<ReleaseResult, number> & { submitted: number; pending: number }> {
  await requeueEndedTimeLocks(context, BATCH);
  const counts = {
    released: 0,
    halted: 0,
    awaiting_monitor: 0,
    time_locked: 0,
    held: 0,
    cancelled: 0,
    skipped: 0,
    submitted: 0,
    pending: 0,
  };
  const handOver = async (withdrawal: WithdrawalRow) => {
    const handed = await submitToCustody(context, custody, withdrawal);
    if (handed === 'halted') {
      counts.halted += 1;
      return;
    }
    if (handed === 'pending') counts.pending += 1;
    counts.submitted += 1;
  };
  // Released but not yet broadcast: a crash between the two, another node handing it over right now, or custody
  // accepted it and its txid is still to come. Hand over again: custody is idempotent per withdrawal id (an
  // accepted instruction is not even sent again) and the state moves once, so the worst a race does is send a
  // broadcast withdrawal to `errored` for an operator to check, never pay twice. Longest waiting first.
  for (const withdrawal of await withdrawalsIn(context.database, 'released', BATCH))
    await handOver(withdrawal);
  const at = context.clock.now().toISOString();
  counts.halted += await countDueHalted(context.database, at, BATCH);
  for (const id of await dueIds(context.database, 'queued', at, BATCH)) {
    const { result, withdrawal } = await releaseOne(context, id);
    counts[result] += 1;
    if (withdrawal !== undefined) await handOver(withdrawal);
  }
  return counts;
}
