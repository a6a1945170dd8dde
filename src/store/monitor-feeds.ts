import { sql } from 'kysely';
import type { LedgerFeedEntry } from '../core/monitor/ledger-feed.ts';
import type { MonitorChainFeedTable } from './schema-monitor.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';

/**
 * The reads behind the monitor's system checks (src/services/monitor/system-checks.ts): the ledger and chain feeds
 * (migration 0041), the released volume per asset, the newest price per asset, when an asset was last resumed.
 */

/** Deleted in chunks: a statement's parameters stay far below either engine's limit. */
const DELETE_CHUNK = 500;

async function deleteSeqs(
  on: Queryable,
  table: 'monitor_ledger_feed' | 'monitor_chain_feed',
  seqs: number[],
) {
  for (let i = 0; i < seqs.length; i += DELETE_CHUNK)
    await queryable(on)
      .deleteFrom(table)
      .where('seq', 'in', seqs.slice(i, i + DELETE_CHUNK))
      .execute();
}

/**
 * The oldest `limit` ledger feed entries, in one statement (so one snapshot: whole transactions, never half of
 * one, on either engine), and whether that was all of them.
 */
export async function ledgerFeedEntries(
  on: Queryable,
  limit: number,
): Promise<{ entries: (LedgerFeedEntry & { seq: number })[]; all: boolean }> {
  const rows = await queryable(on)
    .selectFrom('monitor_ledger_feed')
    .select([
      'seq',
      'entry',
      'ref',
      'asset',
      'transfer_kind',
      'debit_account_id',
      'credit_account_id',
      'amount',
      'old_totals',
      'new_totals',
    ])
    .orderBy('seq')
    .limit(limit + 1)
    .execute();
  const all = rows.length <= limit;
  return { entries: rows.slice(0, limit).map((row) => ({ ...row, seq: Number(row.seq) })), all };
}

/** Removes exactly the entries read (never by range: a lower seq committed later is still to be read). */
export async function deleteLedgerFeedEntries(on: Queryable, seqs: number[]): Promise<void> {
  await deleteSeqs(on, 'monitor_ledger_feed', seqs);
}

export type ChainFeedEntry = Readonly<Omit<MonitorChainFeedTable, 'seq'>> & { readonly seq: number };

/** The oldest `limit` payments the chain carried that the monitor has not matched yet. */
export async function chainFeedEntries(on: Queryable, limit: number): Promise<ChainFeedEntry[]> {
  const rows = await queryable(on)
    .selectFrom('monitor_chain_feed')
    .selectAll()
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

export async function deleteChainFeedEntries(on: Queryable, seqs: number[]): Promise<void> {
  await deleteSeqs(on, 'monitor_chain_feed', seqs);
}

/** Entries waiting in each system feed, and the oldest one's time (for /metrics). */
export async function systemFeedBacklogs(on: Queryable) {
  const db = queryable(on);
  const of = async (table: 'monitor_ledger_feed' | 'monitor_chain_feed') => {
    const row = await db
      .selectFrom(table)
      .select([sql<string | number>`count(*)`.as('n'), sql<string | null>`min(at)`.as('oldest')])
      .executeTakeFirstOrThrow();
    return { count: Number(row.n), oldestAt: row.oldest };
  };
  return { ledger: await of('monitor_ledger_feed'), chain: await of('monitor_chain_feed') };
}

/**
 * Withdrawals released at or after `since`, newest first, at most `limit` (the caller says what happens at the
 * bound). The asset, amount and release time only.
 */
export async function releasedSince(
  tx: Tx,
  since: string,
  limit: number,
): Promise<{ asset: string; amount: string; released_at: string }[]> {
  const rows = await tx
    .selectFrom('withdrawals')
    .select(['asset', 'amount', 'released_at'])
    .where('released_at', 'is not', null)
    .where('released_at', '>=', since)
    .orderBy('released_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    asset: row.asset,
    amount: String(row.amount),
    released_at: row.released_at ?? '',
  }));
}

/**
 * When each asset's last halt by `placedBy` (the monitor; of the asset on every network) was lifted through an
 * approved two-person resume, at or before `now`: its volume is counted from then. A halt an operator lifted alone,
 * or a lift dated after now, would silence the breaker; neither counts (and the database refuses a halt inserted
 * already lifted, migration 0045).
 */
export async function assetsResumedAt(tx: Tx, placedBy: string, now: string): Promise<Map<string, string>> {
  const rows = await tx
    .selectFrom('halts')
    .select(['asset', (eb) => eb.fn.max('lifted_at').as('lifted')])
    .where('scope', '=', 'asset')
    .where('network', 'is', null)
    .where('created_by', '=', placedBy)
    .where('lifted_at', 'is not', null)
    .where('lifted_at', '<=', now)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('incident_resume_halts as h')
          .innerJoin('incident_resume_approvals as a', 'a.request_id', 'h.request_id')
          .select('h.halt_id')
          .whereRef('h.halt_id', '=', 'halts.id'),
      ),
    )
    .groupBy('asset')
    .execute();
  const resumed = new Map<string, string>();
  for (const row of rows)
    if (row.asset !== null && row.lifted !== null) resumed.set(row.asset, String(row.lifted));
  return resumed;
}

/** The newest price point's time for each asset that has one. */
export async function newestPriceTimes(on: Queryable): Promise<Map<string, string>> {
  const rows = await queryable(on)
    .selectFrom('price_points')
    .select(['asset', (eb) => eb.fn.max('at').as('newest')])
    .groupBy('asset')
    .execute();
  return new Map(rows.filter((row) => row.newest !== null).map((row) => [row.asset, String(row.newest)]));
}
