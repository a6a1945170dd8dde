import { CustodyRefused, type CustodySigner, type Handover } from '../../adapters/custody/custody-signer.ts';
import { isCooled } from '../../core/address-book/cooling.ts';
import { signRelease } from '../../core/withdrawals/attestation.ts';
import { proofHash } from '../../core/withdrawals/digest.ts';
import { findEntry } from '../../store/address-book.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { postHold, transfer } from '../../store/ledger/index.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { findProof, moveWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import { accountCoolingMs } from '../address-book.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { haltCovering } from '../halts.ts';
import { endWithdrawal } from './cancel.ts';
import { custodyAccount, feesAccount, inFlightAccount } from './ledger-accounts.ts';
import { digestOfTerms } from './terms.ts';

const BATCH = 50;
const ACTOR = 'system:releaser';

export type ReleaseResult = 'released' | 'halted' | 'time_locked' | 'held' | 'cancelled' | 'skipped';

/** Is the stored proof present, bound to this withdrawal and its digest, and the digest that of its terms? */
export async function proofIsBound(
  tx: Tx,
  withdrawal: WithdrawalRow,
): Promise<{ ok: true; proofHash: string } | { ok: false; reason: string }> {
  if (withdrawal.proof_id === null) return { ok: false, reason: 'no proof' };
  const proof = await findProof(tx, withdrawal.proof_id);
  if (proof === undefined) return { ok: false, reason: 'the proof row is missing' };
  if (proof.withdrawal_id !== withdrawal.id || proof.account_id !== withdrawal.account_id)
    return { ok: false, reason: 'the proof names another withdrawal' };
  const recomputed = digestOfTerms(withdrawal);
  if (recomputed !== withdrawal.digest || proof.digest !== recomputed)
    return { ok: false, reason: 'the digest does not match the withdrawal terms' };
  let evidence: unknown;
  try {
    evidence = JSON.parse(proof.evidence);
  } catch {
    return { ok: false, reason: 'the proof evidence is not JSON' };
  }
  const hash = proofHash(evidence);
  if (hash !== proof.proof_hash) return { ok: false, reason: 'the proof evidence was altered' };
  const bound = evidence as { withdrawal_id?: unknown; digest?: unknown };
  if (bound.withdrawal_id !== withdrawal.id || bound.digest !== recomputed)
    return { ok: false, reason: 'the evidence names another withdrawal' };
  return { ok: true, proofHash: hash };
}

/**
 * Releases one queued withdrawal if everything still holds at this moment, in one transaction: no halt (read under
 * the halt lock), the proof present and bound, the account not locked, no security-change lock, the destination
 * live and cooled. Then signs the release attestation.
 */
export async function releaseOne(
  context: ServiceContext,
  id: string,
): Promise<{ result: ReleaseResult; withdrawal?: WithdrawalRow }> {
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const at = now.toISOString();
    let query = tx.selectFrom('withdrawals').selectAll().where('id', '=', id);
    if (context.database.engine === 'postgres') query = query.forUpdate().skipLocked();
    const withdrawal = await query.executeTakeFirst();
    if (
      withdrawal === undefined ||
      withdrawal.state !== 'queued' ||
      withdrawal.release_after === null ||
      withdrawal.release_after > at
    ) {
      return { result: 'skipped' as const };
    }
    const halt = await haltCovering(context.database, tx, withdrawal);
    if (halt !== undefined) return { result: 'halted' as const };
    // Integrity before anything that could end the withdrawal quietly: a row altered in the database is held
    // and reported, not cancelled as if its destination had merely been removed.
    const bound = await proofIsBound(tx, withdrawal);
    if (!bound.ok) {
      await moveWithdrawal(
        tx,
        id,
        'queued',
        'held_for_review',
        { reason: `refused at release: ${bound.reason}` },
        { actor: ACTOR, reason: bound.reason, at },
      );
      await audit(tx, context, {
        actor: ACTOR,
        action: 'withdrawal.release_refused',
        subject: `withdrawal:${id}`,
        data: { reason: bound.reason, severity: 'critical' },
      });
      return { result: 'held' as const };
    }
    const principal = await findPrincipal(tx, withdrawal.account_id);
    if (principal === undefined || principal.locked_at !== null) {
      await moveWithdrawal(
        tx,
        id,
        'queued',
        'held_for_review',
        { reason: 'the account is locked' },
        { actor: ACTOR, reason: 'the account is locked', at },
      );
      return { result: 'held' as const };
    }
    if (principal.withdrawals_locked_until !== null && principal.withdrawals_locked_until > at) {
      const reason = 'withdrawals are paused after a recent security change';
      await moveWithdrawal(
        tx,
        id,
        'queued',
        'time_locked',
        { reason, time_locked_until: principal.withdrawals_locked_until },
        { actor: ACTOR, reason, at },
      );
      return { result: 'time_locked' as const };
    }
    const entry = await findEntry(tx, withdrawal.account_id, withdrawal.destination_id);
    if (entry === undefined || entry.removedAt !== null || entry.address !== withdrawal.destination_address) {
      await endWithdrawal(
        tx,
        context,
        withdrawal,
        'cancelled',
        ACTOR,
        'the destination was removed from the address book',
      );
      return { result: 'cancelled' as const };
    }
    const cooling = await accountCoolingMs(tx, withdrawal.account_id, now);
    if (!isCooled(entry.createdAt, entry.coolingMs, cooling, now)) {
      const until = new Date(entry.createdAt.getTime() + Math.max(entry.coolingMs, cooling)).toISOString();
      const reason = 'the destination is still cooling';
      await moveWithdrawal(
        tx,
        id,
        'queued',
        'time_locked',
        { reason, time_locked_until: until },
        { actor: ACTOR, reason, at },
      );
      return { result: 'time_locked' as const };
    }
    const attestation = signRelease(context.releaseKey, {
      v: 1,
      withdrawal_id: id,
      digest: withdrawal.digest,
      proof_hash: bound.proofHash,
      asset: withdrawal.asset,
      network: withdrawal.network,
      amount: withdrawal.amount,
      destination: withdrawal.destination_address,
      released_at: at,
    });
    const changes = { attestation: JSON.stringify(attestation) };
    await moveWithdrawal(tx, id, 'queued', 'released', changes, { actor: ACTOR, reason: null, at });
    await audit(tx, context, {
      actor: ACTOR,
      action: 'withdrawal.released',
      subject: `withdrawal:${id}`,
      data: { proof_hash: bound.proofHash, key_id: attestation.key_id },
    });
    return {
      result: 'released' as const,
      withdrawal: { ...withdrawal, ...changes, state: 'released' as const },
    };
  });
}

/**
 * Hands a released withdrawal to the custody signer; refusal or an unknown outcome goes to errored, never voided.
 * Accepted with the txid still to come, it stays released (`pending`).
 */
export async function submitToCustody(
  context: ServiceContext,
  custody: CustodySigner,
  withdrawal: WithdrawalRow,
): Promise<'broadcast' | 'pending' | 'errored'> {
  if (withdrawal.attestation === null)
    throw new Error('assertion failed: a released withdrawal carries its attestation');
  let handover: Handover;
  try {
    handover = await custody.submit({
      withdrawal_id: withdrawal.id,
      asset: withdrawal.asset,
      network: withdrawal.network,
      amount: withdrawal.amount,
      destination: withdrawal.destination_address,
      attestation: JSON.parse(withdrawal.attestation),
    });
  } catch (error) {
    const reason =
      error instanceof CustodyRefused
        ? `custody refused: ${error.message}`
        : `custody outcome unknown: ${error instanceof Error ? error.message : String(error)}`;
    await inTransaction(context.database, async (tx) => {
      const at = context.clock.now().toISOString();
      if (
        await moveWithdrawal(
          tx,
          withdrawal.id,
          'released',
          'errored',
          { reason },
          { actor: ACTOR, reason, at },
        )
      ) {
        await audit(tx, context, {
          actor: ACTOR,
          action: 'withdrawal.errored',
          subject: `withdrawal:${withdrawal.id}`,
          data: { reason },
        });
      }
    });
    return 'errored';
  }
  // Accepted, txid to come: it stays released, and a later pass asks again (see releaseDue).
  if (handover.txid === undefined) return 'pending';
  const { txid } = handover;
  await inTransaction(context.database, async (tx) => {
    const at = context.clock.now().toISOString();
    await moveWithdrawal(
      tx,
      withdrawal.id,
      'released',
      'broadcast',
      { txid },
      { actor: ACTOR, reason: null, at },
    );
  });
  return 'broadcast';
}

/** Time locks that have ended go back to the queue, with a fresh cancel window. */
export async function requeueEndedTimeLocks(context: ServiceContext): Promise<number> {
  const at = context.clock.now();
  const due = await context.database.db
    .selectFrom('withdrawals')
    .select(['id'])
    .where('state', '=', 'time_locked')
    .where('time_locked_until', '<=', at.toISOString())
    .limit(BATCH)
    .execute();
  let moved = 0;
  for (const { id } of due) {
    const ok = await inTransaction(context.database, (tx) =>
      moveWithdrawal(
        tx,
        id,
        'time_locked',
        'queued',
        {
          release_after: new Date(at.getTime() + context.withdrawals.cancelWindowMs).toISOString(),
          time_locked_until: null,
        },
        { actor: ACTOR, reason: 'time lock ended', at: at.toISOString() },
      ),
    );
    if (ok) moved += 1;
  }
  return moved;
}

/** One pass of the releaser: bounded, safe to run on any number of nodes at once. */
export async function releaseDue(
  context: ServiceContext,
  custody: CustodySigner,
): Promise<Record<ReleaseResult, number> & { submitted: number; pending: number }> {
  await requeueEndedTimeLocks(context);
  const at = context.clock.now().toISOString();
  const counts = {
    released: 0,
    halted: 0,
    time_locked: 0,
    held: 0,
    cancelled: 0,
    skipped: 0,
    submitted: 0,
    pending: 0,
  };
  // Released but not yet broadcast: a crash between the two, another node handing it over right now, or custody
  // accepted it and its txid is still to come. Hand over again: custody is idempotent per withdrawal id (an
  // accepted instruction is not even sent again) and the state moves once, so the worst a race does is send a
  // broadcast withdrawal to `errored` for an operator to check, never pay twice. Longest waiting first.
  const stranded = await context.database.db
    .selectFrom('withdrawals')
    .selectAll()
    .where('state', '=', 'released')
    .orderBy('updated_at')
    .limit(BATCH)
    .execute();
  for (const withdrawal of stranded) {
    if ((await submitToCustody(context, custody, withdrawal)) === 'pending') counts.pending += 1;
    counts.submitted += 1;
  }
  const due = await context.database.db
    .selectFrom('withdrawals')
    .select('id')
    .where('state', '=', 'queued')
    .where('release_after', '<=', at)
    .orderBy('release_after')
    .limit(BATCH)
    .execute();
  for (const { id } of due) {
    const { result, withdrawal } = await releaseOne(context, id);
    counts[result] += 1;
    if (withdrawal !== undefined) {
      if ((await submitToCustody(context, custody, withdrawal)) === 'pending') counts.pending += 1;
      counts.submitted += 1;
    }
  }
  return counts;
}

/** Chain confirmation posts the hold exactly once and books the fee; a failure goes to errored for an operator. */
export async function settleBroadcast(context: ServiceContext, custody: CustodySigner): Promise<number> {
  const broadcast = await context.database.db
    .selectFrom('withdrawals')
    .selectAll()
    .where('state', '=', 'broadcast')
    .limit(BATCH)
    .execute();
  let settled = 0;
  const failures: unknown[] = [];
  for (const withdrawal of broadcast) {
    // One withdrawal that cannot settle (a ledger refusal, an adapter error) must not hold up the others.
    try {
      settled += await settleOne(context, custody, withdrawal);
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0)
    throw new AggregateError(failures, `${failures.length} withdrawal(s) could not settle`);
  return settled;
}

async function settleOne(context: ServiceContext, custody: CustodySigner, withdrawal: WithdrawalRow) {
  let settled = 0;
  const reported = await custody.status(withdrawal.id);
  const { status } = reported;
  if (status === 'broadcast' || status === 'unknown') return 0;
  await inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const at = now.toISOString();
    // A confirmation of another transaction than the one custody named at broadcast is not this payment's.
    const otherTxid =
      reported.txid !== undefined && withdrawal.txid !== null && reported.txid !== withdrawal.txid;
    if (status === 'failed' || otherTxid) {
      const reason = otherTxid
        ? `custody reported ${status} for txid ${reported.txid}, not the broadcast ${withdrawal.txid}: an operator must check`
        : 'the chain reported the transaction failed: an operator must check';
      if (
        await moveWithdrawal(
          tx,
          withdrawal.id,
          'broadcast',
          'errored',
          { reason },
          { actor: 'system:settlement', reason, at },
        )
      ) {
        await audit(tx, context, {
          actor: 'system:settlement',
          action: 'withdrawal.errored',
          subject: `withdrawal:${withdrawal.id}`,
          data: { reason, severity: 'critical' },
        });
      }
      return;
    }
    if (
      !(await moveWithdrawal(
        tx,
        withdrawal.id,
        'broadcast',
        'completed',
        {},
        { actor: 'system:settlement', reason: 'confirmed on chain', at },
      ))
    )
      return;
    await postHold(
      tx,
      { id: `${withdrawal.id}:post`, pendingId: withdrawal.id, code: 'withdrawal_completed' },
      now,
    );
    // The posted hold sits in the customer's in-flight account: the amount leaves for the chain (custody),
    // the fee for the platform's fees account.
    const inFlightId = (await inFlightAccount(tx, withdrawal.account_id, withdrawal.asset, now)).id;
    const payouts = [
      {
        suffix: 'payout',
        to: await custodyAccount(tx, withdrawal.asset, now),
        amount: BigInt(withdrawal.amount),
      },
      { suffix: 'fee', to: await feesAccount(tx, withdrawal.asset, now), amount: BigInt(withdrawal.fee) },
    ];
    for (const payout of payouts) {
      if (payout.amount === 0n) continue;
      await transfer(
        tx,
        {
          id: `${withdrawal.id}:${payout.suffix}`,
          debitAccountId: inFlightId,
          creditAccountId: payout.to.id,
          asset: withdrawal.asset,
          amount: payout.amount,
          code: `withdrawal_${payout.suffix}`,
        },
        now,
      );
    }
    await audit(tx, context, {
      actor: 'system:settlement',
      action: 'withdrawal.completed',
      subject: `withdrawal:${withdrawal.id}`,
      data: { txid: withdrawal.txid },
    });
    settled += 1;
  });
  return settled;
}
