import { assert } from '../../core/errors.ts';
import type { Tx } from '../transaction.ts';
import { accountFromRow, amountFromRow } from './rows.ts';
import { availableOf } from './types.ts';

/*
 * The ledger checked against itself, for the monitor. Run it in one snapshot (see
 * `ledger.conservationReport`): on a moving ledger, reads from different moments disagree.
 */

const PAGE_SIZE = 1000;
/** Past a million accounts or ten million transfers a full recount is the wrong tool for the monitor. */
const MAX_ACCOUNT_PAGES = 1000;
const MAX_TRANSFER_PAGES = 10_000;
/** The report lists this many discrepancies and counts the rest. */
export const MAX_LISTED_DISCREPANCIES = 100;

export type TotalName = 'postedDebits' | 'postedCredits' | 'pendingDebits' | 'pendingCredits';

export type Discrepancy =
  | {
      readonly kind: 'posted_not_balanced';
      readonly asset: string;
      readonly postedDebitsMinusCredits: bigint;
    }
  | {
      readonly kind: 'pending_not_balanced';
      readonly asset: string;
      readonly pendingDebits: bigint;
      readonly pendingCredits: bigint;
    }
  | {
      readonly kind: 'totals_differ';
      readonly accountId: string;
      readonly total: TotalName;
      readonly stored: bigint;
      readonly recomputed: bigint;
    }
  | { readonly kind: 'overdrawn'; readonly accountId: string; readonly available: bigint }
  | { readonly kind: 'transfer_asset_mismatch'; readonly transferId: string }
  | { readonly kind: 'resolution_mismatch'; readonly transferId: string; readonly pendingId: string };

export interface AssetConservation {
  readonly asset: string;
  /** Sum over accounts of posted_debits - posted_credits: zero when every transfer balanced. */
  readonly postedDebitsMinusCredits: bigint;
  readonly pendingDebits: bigint;
  readonly pendingCredits: bigint;
}

export interface ConservationReport {
  readonly ok: boolean;
  readonly accounts: number;
  readonly transfers: number;
  readonly assets: readonly AssetConservation[];
  readonly discrepancyCount: number;
  readonly discrepancies: readonly Discrepancy[];
}

type Totals = Record<TotalName, bigint>;
const TOTAL_NAMES: readonly TotalName[] = [
  'postedDebits',
  'postedCredits',
  'pendingDebits',
  'pendingCredits',
];

function zeroTotals(): Totals {
  return { postedDebits: 0n, postedCredits: 0n, pendingDebits: 0n, pendingCredits: 0n };
}

export async function conservationReport(tx: Tx): Promise<ConservationReport> {
  const found: Discrepancy[] = [];
  let discrepancyCount = 0;
  const report = (discrepancy: Discrepancy): void => {
    discrepancyCount += 1;
    if (found.length < MAX_LISTED_DISCREPANCIES) found.push(discrepancy);
  };

  const recomputed = await recountFromTransfers(tx);
  const assets = new Map<string, AssetConservation>();
  let accounts = 0;
  let after = '';
  for (let page = 0; ; page++) {
    assert(page < MAX_ACCOUNT_PAGES, 'too many ledger accounts for a full conservation check');
    const rows = await tx
      .selectFrom('ledger_accounts')
      .selectAll()
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE_SIZE)
      .execute();
    for (const row of rows) {
      const account = accountFromRow(row);
      accounts += 1;
      const sums = assets.get(account.asset) ?? {
        asset: account.asset,
        postedDebitsMinusCredits: 0n,
        pendingDebits: 0n,
        pendingCredits: 0n,
      };
      assets.set(account.asset, {
        asset: account.asset,
        postedDebitsMinusCredits:
          sums.postedDebitsMinusCredits + account.postedDebits - account.postedCredits,
        pendingDebits: sums.pendingDebits + account.pendingDebits,
        pendingCredits: sums.pendingCredits + account.pendingCredits,
      });
      const expected = recomputed.totals.get(account.id) ?? zeroTotals();
      recomputed.totals.delete(account.id);
      for (const total of TOTAL_NAMES) {
        if (account[total] !== expected[total]) {
          report({
            kind: 'totals_differ',
            accountId: account.id,
            total,
            stored: account[total],
            recomputed: expected[total],
          });
        }
      }
      if (account.debitsMustNotExceedCredits && availableOf(account) < 0n) {
        report({ kind: 'overdrawn', accountId: account.id, available: availableOf(account) });
      }
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE_SIZE) break;
    after = last.id;
  }
  // Foreign keys make this impossible; if it ever happens the recount names the account.
  assert(recomputed.totals.size === 0, 'every transfer references an existing account');

  for (const sums of assets.values()) {
    if (sums.postedDebitsMinusCredits !== 0n) {
      report({
        kind: 'posted_not_balanced',
        asset: sums.asset,
        postedDebitsMinusCredits: sums.postedDebitsMinusCredits,
      });
    }
    if (sums.pendingDebits !== sums.pendingCredits) {
      report({ kind: 'pending_not_balanced', ...sums });
    }
  }
  for (const transferId of await transfersWithForeignAsset(tx)) {
    report({ kind: 'transfer_asset_mismatch', transferId });
  }
  for (const row of await resolutionsUnlikeTheirHold(tx)) {
    report({ kind: 'resolution_mismatch', transferId: row.id, pendingId: row.pending_id ?? '' });
  }
  const sortedAssets = [...assets.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1));
  return Object.freeze({
    ok: discrepancyCount === 0,
    accounts,
    transfers: recomputed.transfers,
    assets: sortedAssets,
    discrepancyCount,
    discrepancies: found,
  });
}

/** Each account's four totals as the transfers say they must be, independent of the stored totals. */
async function recountFromTransfers(tx: Tx): Promise<{ totals: Map<string, Totals>; transfers: number }> {
  const totals = new Map<string, Totals>();
  const of = (accountId: string): Totals => {
    let entry = totals.get(accountId);
    if (entry === undefined) {
      entry = zeroTotals();
      totals.set(accountId, entry);
    }
    return entry;
  };
  let transfers = 0;
  let after = '';
  for (let page = 0; ; page++) {
    assert(page < MAX_TRANSFER_PAGES, 'too many ledger transfers for a full conservation check');
    const rows = await tx
      .selectFrom('ledger_transfers')
      .select(['id', 'kind', 'debit_account_id', 'credit_account_id', 'amount'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE_SIZE)
      .execute();
    for (const row of rows) {
      transfers += 1;
      const amount = amountFromRow(row.amount);
      const debit = of(row.debit_account_id);
      const credit = of(row.credit_account_id);
      // A resolution carries the hold's accounts and amount, so rows can be summed in any order.
      if (row.kind === 'post_pending' || row.kind === 'void_pending') {
        debit.pendingDebits -= amount;
        credit.pendingCredits -= amount;
      }
      if (row.kind === 'pending') {
        debit.pendingDebits += amount;
        credit.pendingCredits += amount;
      }
      if (row.kind === 'posted' || row.kind === 'post_pending') {
        debit.postedDebits += amount;
        credit.postedCredits += amount;
      }
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE_SIZE) break;
    after = last.id;
  }
  return { totals, transfers };
}

async function transfersWithForeignAsset(tx: Tx): Promise<string[]> {
  const rows = await tx
    .selectFrom('ledger_transfers as t')
    .innerJoin('ledger_accounts as d', 'd.id', 't.debit_account_id')
    .innerJoin('ledger_accounts as c', 'c.id', 't.credit_account_id')
    .select('t.id')
    .where((eb) => eb.or([eb('t.asset', '<>', eb.ref('d.asset')), eb('t.asset', '<>', eb.ref('c.asset'))]))
    .orderBy('t.id')
    .limit(MAX_LISTED_DISCREPANCIES)
    .execute();
  return rows.map((row) => row.id);
}

/** A post or void must carry exactly its hold's accounts, asset and amount, and point at a hold. */
async function resolutionsUnlikeTheirHold(tx: Tx): Promise<{ id: string; pending_id: string | null }[]> {
  return tx
    .selectFrom('ledger_transfers as r')
    .innerJoin('ledger_transfers as p', 'p.id', 'r.pending_id')
    .select(['r.id', 'r.pending_id'])
    .where((eb) =>
      eb.or([
        eb('p.kind', '<>', 'pending'),
        eb('r.debit_account_id', '<>', eb.ref('p.debit_account_id')),
        eb('r.credit_account_id', '<>', eb.ref('p.credit_account_id')),
        eb('r.asset', '<>', eb.ref('p.asset')),
        eb('r.amount', '<>', eb.ref('p.amount')),
      ]),
    )
    .orderBy('r.id')
    .limit(MAX_LISTED_DISCREPANCIES)
    .execute();
}
