import { findVerdicts } from '../../store/monitor.ts';
import { type ChainFeedEntry, chainFeedEntries, deleteChainFeedEntries } from '../../store/monitor-feeds.ts';
import { inTransaction } from '../../store/transaction.ts';
import { findWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import {
  isOwnVerdict,
  MONITOR_ACTOR,
  type MonitorContext,
  rejectWithdrawal,
  withdrawalHaltScope,
} from './check.ts';
import { reportCriticalFinding } from './report.ts';

/** Chain payments one pass matches; the rest wait for the next (entries leave only once matched). */
export const CHAIN_FEED_BATCH = 200;

/** The states a withdrawal the chain paid may be in: released to custody, or further. */
const PAID_STATES = new Set(['released', 'broadcast', 'completed', 'errored']);

/**
 * Every payment the chain carried, matched to what Drawbridge released. The source is the chain itself (the
 * simulated chain's transactions, fed by trigger: migration 0041), not the withdrawals table nor custody's reports
 * about itself: custody paying what nobody released (a signer compromised, a key used outside Drawbridge, a row
 * rewritten after release) shows here and nowhere else. A payment is in order when its withdrawal exists, was
 * released (or went further), carries the monitor's own approving verdict and no rejection, and was paid exactly
 * its amount, on its network, to its destination. Anything else is a critical finding.
 */
export async function checkChainPayments(monitor: MonitorContext): Promise<number> {
  const database = monitor.services.database;
  const entries = await chainFeedEntries(database, CHAIN_FEED_BATCH);
  for (const entry of entries) {
    await inTransaction(database, async (tx) => {
      const withdrawal = await findWithdrawal(tx, entry.withdrawal_id);
      const problem =
        withdrawal === undefined
          ? `the chain paid ${entry.amount} to ${entry.destination} (${entry.network}, ${entry.txid}) for withdrawal ${entry.withdrawal_id}, which does not exist`
          : paymentProblem(monitor, entry, withdrawal, await findVerdicts(tx, withdrawal.id));
      if (problem !== undefined) {
        if (withdrawal !== undefined) await rejectWithdrawal(monitor, tx, withdrawal);
        const about = {
          txid: entry.txid.slice(0, 200),
          network: entry.network.slice(0, 32),
          amount: entry.amount.slice(0, 64),
        };
        await reportCriticalFinding(tx, monitor.services, MONITOR_ACTOR, {
          check: 'chain_payment_unreleased',
          subject: withdrawal === undefined ? `chain:${entry.txid}` : `withdrawal:${withdrawal.id}`,
          findingKey: withdrawal === undefined ? `chain:${entry.txid}` : withdrawal.id,
          detail: problem,
          // Not tied to a withdrawal of ours: nothing narrower than everything can be said to be at risk.
          scope: withdrawal === undefined ? { scope: 'global' } : withdrawalHaltScope(monitor, withdrawal),
          about,
          auditData: about,
        });
      }
      await deleteChainFeedEntries(tx, [entry.seq]);
    });
  }
  return entries.length;
}

function paymentProblem(
  monitor: MonitorContext,
  entry: ChainFeedEntry,
  withdrawal: WithdrawalRow,
  verdicts: Awaited<ReturnType<typeof findVerdicts>>,
): string | undefined {
  if (!PAID_STATES.has(withdrawal.state))
    return `the chain paid it (${entry.txid}) while it is ${withdrawal.state}, never released`;
  if (entry.amount !== withdrawal.amount)
    return `the chain paid ${entry.amount}, not its amount ${withdrawal.amount} (${entry.txid})`;
  if (entry.destination !== withdrawal.destination_address || entry.network !== withdrawal.network)
    return `the chain paid ${entry.destination} on ${entry.network}, not its destination (${entry.txid})`;
  if (verdicts.approve === undefined || !isOwnVerdict(monitor, verdicts.approve, withdrawal.id))
    return `the chain paid it (${entry.txid}) without the monitor's approval`;
  if (verdicts.reject !== undefined && isOwnVerdict(monitor, verdicts.reject, withdrawal.id))
    return `the chain paid it (${entry.txid}) though the monitor rejected it`;
  return undefined;
}
