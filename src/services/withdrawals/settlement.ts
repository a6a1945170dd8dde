import { holdMismatch } from '../../core/risk/release-rules.ts';
import { findHold, postHold, transfer } from '../../store/ledger/index.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { moveWithdrawal, type WithdrawalRow, withdrawalsIn } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import type { Custody } from '../custody/handover.ts';
import { markErrored } from './errored.ts';
import { custodyAccount, feesAccount, inFlightAccount } from './ledger-accounts.ts';

const BATCH = 50;
/** Pages of BATCH one settlement pass reads at most. */
const MAX_PAGES = 20;
const ACTOR = 'system:settlement';

/**
 * Chain confirmation posts the hold exactly once and books the fee; a failure goes to errored for an operator.
 * At most MAX_PAGES x BATCH per pass, the longest unchanged first.
 */
export async function settleBroadcast(context: ServiceContext, custody: Custody): Promise<number> {
  let settled = 0;
  const failures: unknown[] = [];
  // Page by page: broadcast withdrawals custody has no news of stay as they are, and must not hide the rest.
  let page = await withdrawalsIn(context.database, 'broadcast', BATCH);
  for (let pages = 1; ; pages++) {
    for (const withdrawal of page) {
      // One withdrawal that cannot settle (a ledger refusal, an adapter error) must not hold up the others.
      try {
        settled += await settleOne(context, custody, withdrawal);
      } catch (error) {
        failures.push(error);
      }
    }
    const last = page.at(-1);
    // At MAX_PAGES the rest waits for the next pass (it starts from the oldest again).
    if (last === undefined || page.length < BATCH || pages >= MAX_PAGES) break;
    page = await withdrawalsIn(context.database, 'broadcast', BATCH, last);
  }
  if (failures.length > 0)
    throw new AggregateError(failures, `${failures.length} withdrawal(s) could not settle`);
  return settled;
}

async function toErrored(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  reason: string,
  action: string,
): Promise<void> {
  await markErrored(tx, context, withdrawal, {
    from: 'broadcast',
    actor: ACTOR,
    reason,
    action,
    severity: 'critical',
  });
}

async function settleOne(
  context: ServiceContext,
  custody: Custody,
  withdrawal: WithdrawalRow,
): Promise<number> {
  const reported = await custody.status(withdrawal.id);
  const { status } = reported;
  if (status === 'broadcast' || status === 'unknown') return 0;
  return inTransaction(context.database, async (tx) => {
    // A confirmation of another transaction than the one custody named at broadcast is not this payment's.
    const otherTxid =
      reported.txid !== undefined && withdrawal.txid !== null && reported.txid !== withdrawal.txid;
    if (status === 'failed' || otherTxid) {
      const reason = otherTxid
        ? `custody reported ${status} for txid ${reported.txid}, not the broadcast ${withdrawal.txid}: an operator must check`
        : 'the chain reported the transaction failed: an operator must check';
      await toErrored(tx, context, withdrawal, reason, 'withdrawal.errored');
      return 0;
    }
    // Money left that was never held for this withdrawal (a row forged past the releaser, a hold voided since):
    // nothing can be posted, and it is an alarm for an operator, not a silent stall in `broadcast`.
    const mismatch = holdMismatch(withdrawal, await findHold(tx, withdrawal.id));
    if (mismatch !== undefined) {
      await toErrored(
        tx,
        context,
        withdrawal,
        `confirmed on chain, but ${mismatch}: an operator must check`,
        'withdrawal.settlement_refused',
      );
      return 0;
    }
    return (await completeWithdrawal(tx, context, withdrawal, 'broadcast', ACTOR, 'confirmed on chain'))
      ? 1
      : 0;
  });
}

/**
 * Completes a withdrawal that custody paid: posts its hold exactly once, then pays the amount out of the in-flight
 * account to custody and the fee to the platform's fees account. From `broadcast` (the chain confirmed) or
 * `errored` (an operator checked the chain). False when the row was no longer in `from`.
 */
export async function completeWithdrawal(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  from: 'broadcast' | 'errored',
  actor: string,
  reason: string,
  txid: string | null = withdrawal.txid,
): Promise<boolean> {
  const now = context.clock.now();
  const moved = await moveWithdrawal(tx, {
    id: withdrawal.id,
    from,
    path: [{ to: 'completed', actor, reason }],
    changes: { reason: null, txid: txid ?? undefined },
    at: now.toISOString(),
  });
  if (!moved) return false;
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
    actor,
    action: 'withdrawal.completed',
    subject: `withdrawal:${withdrawal.id}`,
    data: { txid, reason },
  });
  return true;
}
