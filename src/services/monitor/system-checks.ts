import { GENESIS_PREV_HASH } from '../../core/audit-hash.ts';
import type { HaltScope } from '../../core/halts/halt-scope.ts';
import {
  clearLedgerDiscrepancies,
  describeLedgerDiscrepancy,
  emptyLedgerCheckpoint,
  foldLedgerEntries,
  type LedgerCheckpoint,
  type LedgerDiscrepancy,
  ledgerDiscrepancies,
} from '../../core/monitor/ledger-feed.ts';
import { type AuditHead, verifyAuditChainFrom } from '../../store/audit/index.ts';
import { createLedger } from '../../store/ledger/index.ts';
import { deleteLedgerFeedEntries, ledgerFeedEntries } from '../../store/monitor-feeds.ts';
import { inTransaction } from '../../store/transaction.ts';
import { MONITOR_ACTOR, type MonitorContext } from './check.ts';
import { type CriticalFinding, reportCriticalFinding } from './report.ts';

/** Audit entries the monitor verifies per sweep; the rest wait for the next (a long chain is walked in steps). */
export const AUDIT_ENTRIES_PER_SWEEP = 5000;
/** Ledger feed entries one pass folds in; at the bound the rest wait, and nothing is judged until all are read. */
export const LEDGER_FEED_BATCH = 10_000;
/** Ledger discrepancies named per finding (the rest are counted; the full recount lists them all). */
const LISTED_DISCREPANCIES = 10;

/**
 * The last audit entry this monitor process verified, kept in its memory, never in the database: a checkpoint a
 * writer could move would let them skip what they changed. A new process starts from the genesis.
 */
const verifiedHeads = new WeakMap<MonitorContext, AuditHead | 'broken'>();
/** The ledger's running checkpoint, in memory for the same reason. */
const ledgerCheckpoints = new WeakMap<MonitorContext, LedgerCheckpoint>();

/**
 * The audit chain from the last entry this monitor verified, at most AUDIT_ENTRIES_PER_SWEEP further. A broken
 * link is a critical finding (once per process): recorded, audited, a global halt, a critical alert.
 */
export async function checkAuditChain(monitor: MonitorContext): Promise<'ok' | 'broken'> {
  const from = verifiedHeads.get(monitor) ?? { seq: 0, hash: GENESIS_PREV_HASH };
  if (from === 'broken') return 'broken';
  const result = await verifyAuditChainFrom(monitor.services.database, from, AUDIT_ENTRIES_PER_SWEEP);
  if (result.ok) {
    verifiedHeads.set(monitor, result.head);
    return 'ok';
  }
  verifiedHeads.set(monitor, 'broken');
  const { seq, id, reason } = result.first_broken;
  await reportSystemFindings(monitor, [
    {
      check: 'audit_chain',
      subject: 'audit_log',
      detail: `the audit chain is broken at entry ${seq} (${id}): ${reason}`,
      scope: { scope: 'global' },
    },
  ]);
  return 'broken';
}

export interface LedgerCheckReport {
  readonly entries: number;
  /** Discrepancies found in this pass (0 when it could not judge yet: more entries were waiting). */
  readonly discrepancies: number;
}

/**
 * Ledger conservation per asset, incrementally: the ledger feed's new entries folded into the checkpoint (each
 * account's totals moved only by transfers; per asset, debits moved as much as credits), judged once every entry
 * there was has been read. One statement reads them, so whole transactions; they are deleted once folded in.
 * A discrepancy is a critical finding about its asset (an asset halt, or a global one under MONITOR_HALT_SCOPE=global).
 */
export async function checkLedgerFeed(monitor: MonitorContext): Promise<LedgerCheckReport> {
  const database = monitor.services.database;
  let checkpoint = ledgerCheckpoints.get(monitor);
  if (checkpoint === undefined) {
    checkpoint = emptyLedgerCheckpoint();
    ledgerCheckpoints.set(monitor, checkpoint);
  }
  const { entries, all } = await ledgerFeedEntries(database, LEDGER_FEED_BATCH);
  if (entries.length === 0) return { entries: 0, discrepancies: 0 };
  // Deleted first, then folded in: a failed delete leaves them to be read again, never counted twice.
  // In one transaction, so another monitor's read sees a ledger transaction's entries all there or all gone.
  await inTransaction(database, (tx) =>
    deleteLedgerFeedEntries(
      tx,
      entries.map((entry) => entry.seq),
    ),
  );
  foldLedgerEntries(checkpoint, entries);
  if (!all) return { entries: entries.length, discrepancies: 0 };
  const found = ledgerDiscrepancies(checkpoint);
  if (found.length > 0) await reportLedgerDiscrepancies(monitor, 'ledger_conservation', found);
  // Cleared once reported: a report that fails leaves them to be reported on the next pass.
  clearLedgerDiscrepancies(checkpoint);
  return { entries: entries.length, discrepancies: found.length };
}

/**
 * The slow sweep's full recount (src/store/ledger/conservation.ts): every account's totals recomputed from every
 * transfer, in one snapshot. It catches what the feed cannot show, such as a trigger dropped before a change.
 */
export async function recountLedger(monitor: MonitorContext): Promise<'ok' | 'discrepancies'> {
  const { services } = monitor;
  const report = await createLedger(services.database, services.clock).conservationReport();
  if (report.ok) return 'ok';
  const byAsset = new Map<string, string[]>();
  for (const discrepancy of report.discrepancies) {
    const asset = 'asset' in discrepancy ? discrepancy.asset : '*';
    byAsset.set(asset, [
      ...(byAsset.get(asset) ?? []),
      JSON.stringify(discrepancy, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    ]);
  }
  await reportSystemFindings(
    monitor,
    [...byAsset].map(([asset, found]) => ({
      check: 'ledger_recount',
      subject: `ledger:${asset}`,
      detail: `the full recount found ${report.discrepancyCount} discrepancies, e.g. ${found.slice(0, 3).join('; ')}`,
      scope: ledgerHaltScope(monitor, asset === '*' ? undefined : asset),
    })),
  );
  return 'discrepancies';
}

/** A ledger discrepancy halts its asset, or everything under MONITOR_HALT_SCOPE=global (or with no asset named). */
function ledgerHaltScope(monitor: MonitorContext, asset: string | undefined): HaltScope {
  return monitor.haltScope === 'global' || asset === undefined
    ? { scope: 'global' }
    : { scope: 'asset', asset, network: null };
}

async function reportLedgerDiscrepancies(
  monitor: MonitorContext,
  check: string,
  discrepancies: readonly LedgerDiscrepancy[],
): Promise<void> {
  const byAsset = new Map<string, LedgerDiscrepancy[]>();
  for (const discrepancy of discrepancies)
    byAsset.set(discrepancy.asset, [...(byAsset.get(discrepancy.asset) ?? []), discrepancy]);
  await reportSystemFindings(
    monitor,
    [...byAsset].map(([asset, found]) => ({
      check,
      subject: `ledger:${asset.slice(0, 32)}`,
      detail: `${found.length} change(s) of the ledger do not add up: ${found
        .slice(0, LISTED_DISCREPANCIES)
        .map(describeLedgerDiscrepancy)
        .join('; ')}`,
      scope: ledgerHaltScope(monitor, asset),
    })),
  );
}

/** Findings about the system, not one withdrawal, reported together in one transaction. */
export async function reportSystemFindings(
  monitor: MonitorContext,
  findings: readonly Omit<CriticalFinding, 'findingKey'>[],
): Promise<void> {
  const { services } = monitor;
  await inTransaction(services.database, async (tx) => {
    for (const finding of findings)
      await reportCriticalFinding(tx, services, MONITOR_ACTOR, { ...finding, findingKey: finding.subject });
  });
}
