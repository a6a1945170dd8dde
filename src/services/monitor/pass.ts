import { feedBacklog, feedEntries, uncheckedWithdrawals } from '../../store/monitor.ts';
import { checkPriceStaleness, checkWithdrawnVolume } from './asset-checks.ts';
import { checkChainPayments } from './chain-payments.ts';
import {
  type CheckItem,
  type CheckOutcome,
  checkWithdrawal,
  checkWithdrawals,
  type MonitorContext,
} from './check.ts';
import { checkAuditChain, checkLedgerFeed, recountLedger } from './system-checks.ts';

/** Withdrawals one pass takes from the feed; the rest wait for the next (entries leave only once checked). */
export const FEED_BATCH = 200;
/** Withdrawals the slow sweep checks per pass. */
export const SWEEP_BATCH = 100;

/**
 * Withdrawals checked in one transaction (check.ts `checkWithdrawals`): their reads go in two round trips and they
 * commit once, instead of a transaction, its round trips and its commit for each. A batch that throws is rolled
 * back whole and its withdrawals are checked again one by one, each in its own transaction, so one check that
 * throws (or a race on a shared row) costs the others nothing but the retry.
 */
const CHECK_BATCH = 16;

/**
 * Batches in flight at once. The batches are independent (a pass names each withdrawal once), so running several
 * together lets SQLite commit them in one group and PostgreSQL use several connections. Two batches that race on a
 * shared row (one proof token, say) fail one of them, whose withdrawals are then checked one by one.
 */
const CONCURRENT_BATCHES = 4;

async function eachAtOnce<T>(items: readonly T[], run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_BATCHES, items.length) }, lane));
}

function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

export interface MonitorPassReport {
  readonly checked: number;
  readonly approved: number;
  readonly refused: number;
  /** Checks that threw: their feed entries stay, and the next pass tries again. */
  readonly failed: number;
  /** Batches that threw and were checked again one by one (each a sign of a fault worth a look; none is lost). */
  readonly batchesRetried: number;
  /** Entries still waiting after this pass, and how long the oldest has waited (ms; 0 when none). */
  readonly backlog: number;
  readonly lagMs: number;
  /** The audit chain from the last entry this process verified (sweeps only). */
  readonly auditChain: 'ok' | 'broken' | 'not_checked';
  /** Ledger feed entries folded into the conservation checkpoint, and what did not add up. */
  readonly ledgerEntries: number;
  readonly ledgerDiscrepancies: number;
  /** The full ledger recount (when asked for). */
  readonly ledgerRecount: 'ok' | 'discrepancies' | 'not_checked';
  /** Chain payments matched to their withdrawals. */
  readonly chainPayments: number;
  /** Assets whose withdrawn volume tripped the breaker, and assets whose price is stale (sweeps only). */
  readonly volumeTripped: readonly string[];
  readonly stalePrices: readonly string[];
}

/**
 * One pass of the monitor: every withdrawal the feed names (oldest entries first, up to FEED_BATCH), and with
 * `sweep` up to SWEEP_BATCH withdrawals in flight that have no verdict yet (a feed entry lost to a dropped trigger
 * still gets checked) and the audit chain from the last entry this process verified. A check that throws leaves its entries for the next pass: fail closed, since without a
 * verdict nothing is released.
 */
export async function monitorPass(
  monitor: MonitorContext,
  options: {
    sweep?: boolean;
    /** Also the full ledger recount (the slow sweep's slowest part; the worker runs it hourly). */
    recount?: boolean;
    onError?: (error: unknown, withdrawalId: string) => void;
    /** A batch that threw, before its withdrawals are checked again one by one. */
    onBatchError?: (error: unknown, withdrawalIds: readonly string[]) => void;
  } = {},
): Promise<MonitorPassReport> {
  const database = monitor.services.database;
  const entries = await feedEntries(database, FEED_BATCH);
  const counts = { checked: 0, approved: 0, refused: 0, failed: 0 };
  let batchesRetried = 0;
  const count = (outcome: CheckOutcome) => {
    counts.checked += 1;
    if (outcome.kind === 'approved') counts.approved += 1;
    if (outcome.kind === 'refused') counts.refused += 1;
  };
  const checkAlone = async (item: CheckItem): Promise<void> => {
    try {
      count(
        await checkWithdrawal(monitor, item.id, item.feedSeq === undefined ? {} : { feedSeq: item.feedSeq }),
      );
    } catch (error) {
      counts.failed += 1;
      options.onError?.(error, item.id);
    }
  };
  // A batch's entries leave with its commit, and only then; a batch that throws is checked again one by one, where
  // each check deletes its entries in its own transaction and a check that throws leaves them for the next pass.
  const checkBatch = async (batch: readonly CheckItem[]): Promise<void> => {
    let outcomes: CheckOutcome[];
    try {
      outcomes = await checkWithdrawals(monitor, batch);
    } catch (error) {
      batchesRetried += 1;
      options.onBatchError?.(
        error,
        batch.map((item) => item.id),
      );
      for (const item of batch) await checkAlone(item);
      return;
    }
    for (const outcome of outcomes) count(outcome);
  };
  const feedItems = entries.map((entry) => ({ id: entry.withdrawal_id, feedSeq: entry.seq }));
  await eachAtOnce(batchesOf(feedItems, CHECK_BATCH), checkBatch);
  // After the withdrawals: a payment the releaser made in this instant is matched with its verdict in place.
  const chainPayments = await checkChainPayments(monitor);
  const ledger = await checkLedgerFeed(monitor);
  let auditChain: 'ok' | 'broken' | 'not_checked' = 'not_checked';
  let volumeTripped: string[] = [];
  let stalePrices: string[] = [];
  if (options.sweep === true) {
    const swept = (await uncheckedWithdrawals(database, SWEEP_BATCH)).map((id) => ({ id }));
    await eachAtOnce(batchesOf(swept, CHECK_BATCH), checkBatch);
    auditChain = await checkAuditChain(monitor);
    volumeTripped = await checkWithdrawnVolume(monitor);
    stalePrices = await checkPriceStaleness(monitor);
  }
  const ledgerRecount = options.recount === true ? await recountLedger(monitor) : 'not_checked';
  const backlog = await feedBacklog(database);
  // The feed is stamped by the database's own clock (its trigger), so the lag is measured on the wall clock.
  const now = Date.now();
  return {
    ...counts,
    batchesRetried,
    auditChain,
    ledgerEntries: ledger.entries,
    ledgerDiscrepancies: ledger.discrepancies,
    ledgerRecount,
    chainPayments,
    volumeTripped,
    stalePrices,
    backlog: backlog.count,
    lagMs: backlog.oldestAt === null ? 0 : Math.max(0, now - Date.parse(backlog.oldestAt)),
  };
}
