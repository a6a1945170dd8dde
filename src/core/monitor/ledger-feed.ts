/**
 * Ledger conservation, incrementally, from the ledger feed (migration 0041): each transfer inserted and each change
 * of an account's four totals, whoever wrote them. A transfer and the balance updates it causes commit together, so
 * over whole transactions the totals move exactly by the transfers' effects, and per asset the posted debits move
 * as much as the posted credits (and the pending ones likewise). What does not add up is a row written around the
 * ledger: a balance changed directly, a transfer inserted without its balances, an account moved to another asset.
 *
 * Pure: the monitor reads the entries (src/store/monitor.ts), folds them into a checkpoint it keeps in its memory
 * (never in the database, where a writer could move it) and judges when it has read every entry there was.
 */

export interface LedgerFeedEntry {
  readonly entry: 'transfer' | 'account';
  readonly ref: string;
  readonly asset: string;
  readonly transfer_kind: string | null;
  readonly debit_account_id: string | null;
  readonly credit_account_id: string | null;
  readonly amount: string | null;
  readonly old_totals: string | null;
  readonly new_totals: string | null;
}

const TOTALS = ['posted_debits', 'posted_credits', 'pending_debits', 'pending_credits'] as const;
type Totals = [bigint, bigint, bigint, bigint];

export interface LedgerCheckpoint {
  /** Per account: how far its totals moved beyond what the transfers explain (only non-zero ones kept). */
  readonly unexplained: Map<string, { asset: string; totals: Totals }>;
  /** Per asset: posted debits minus posted credits and pending debits minus pending credits, summed over changes. */
  readonly imbalance: Map<string, { posted: bigint; pending: bigint }>;
  /** Entries that could not be read (a malformed amount or totals): a writer around the ledger. */
  readonly unreadable: { ref: string; asset: string }[];
  /** Every entry folded in since this checkpoint began, by kind, for the report. */
  transfers: number;
  accountChanges: number;
}

export type LedgerDiscrepancy =
  | {
      readonly kind: 'unexplained_change';
      readonly accountId: string;
      readonly asset: string;
      readonly total: (typeof TOTALS)[number];
      readonly by: bigint;
    }
  | {
      readonly kind: 'asset_not_balanced';
      readonly asset: string;
      readonly posted: bigint;
      readonly pending: bigint;
    }
  | { readonly kind: 'unreadable_entry'; readonly ref: string; readonly asset: string };

export function emptyLedgerCheckpoint(): LedgerCheckpoint {
  return { unexplained: new Map(), imbalance: new Map(), unreadable: [], transfers: 0, accountChanges: 0 };
}

const DIGITS = /^-?[0-9]{1,80}$/;

function amountOf(text: string | null): bigint | undefined {
  return text !== null && DIGITS.test(text) ? BigInt(text) : undefined;
}

function totalsOf(text: string | null): Totals | undefined {
  const parts = text?.split(',') ?? [];
  if (parts.length !== 4) return undefined;
  const values = parts.map((part) => amountOf(part));
  if (values.some((value) => value === undefined)) return undefined;
  return values as Totals;
}

function shift(
  checkpoint: LedgerCheckpoint,
  accountId: string,
  asset: string,
  by: Totals,
  sign: 1n | -1n,
): void {
  const current = checkpoint.unexplained.get(accountId) ?? { asset, totals: [0n, 0n, 0n, 0n] as Totals };
  const totals = current.totals.map((value, i) => value + sign * (by[i] as bigint)) as Totals;
  if (totals.every((value) => value === 0n)) checkpoint.unexplained.delete(accountId);
  else checkpoint.unexplained.set(accountId, { asset: current.asset, totals });
}

/** What a transfer does to its debit account's and its credit account's totals (as the ledger applies it). */
function transferEffect(kind: string, amount: bigint): { debit: Totals; credit: Totals } | undefined {
  switch (kind) {
    case 'posted':
      return { debit: [amount, 0n, 0n, 0n], credit: [0n, amount, 0n, 0n] };
    case 'pending':
      return { debit: [0n, 0n, amount, 0n], credit: [0n, 0n, 0n, amount] };
    case 'post_pending':
      return { debit: [amount, 0n, -amount, 0n], credit: [0n, amount, 0n, -amount] };
    case 'void_pending':
      return { debit: [0n, 0n, -amount, 0n], credit: [0n, 0n, 0n, -amount] };
    default:
      return undefined;
  }
}

/** Folds entries into the checkpoint (in any order: only their sum counts). */
export function foldLedgerEntries(checkpoint: LedgerCheckpoint, entries: readonly LedgerFeedEntry[]): void {
  for (const entry of entries) {
    if (entry.entry === 'account') {
      const before = totalsOf(entry.old_totals);
      const after = totalsOf(entry.new_totals);
      if (before === undefined || after === undefined) {
        checkpoint.unreadable.push({ ref: entry.ref, asset: entry.asset });
        continue;
      }
      const change = after.map((value, i) => value - (before[i] as bigint)) as Totals;
      checkpoint.accountChanges += 1;
      shift(checkpoint, entry.ref, entry.asset, change, 1n);
      const sums = checkpoint.imbalance.get(entry.asset) ?? { posted: 0n, pending: 0n };
      const posted = sums.posted + change[0] - change[1];
      const pending = sums.pending + change[2] - change[3];
      if (posted === 0n && pending === 0n) checkpoint.imbalance.delete(entry.asset);
      else checkpoint.imbalance.set(entry.asset, { posted, pending });
      continue;
    }
    const amount = amountOf(entry.amount);
    const effect = amount === undefined ? undefined : transferEffect(entry.transfer_kind ?? '', amount);
    if (effect === undefined || entry.debit_account_id === null || entry.credit_account_id === null) {
      checkpoint.unreadable.push({ ref: entry.ref, asset: entry.asset });
      continue;
    }
    checkpoint.transfers += 1;
    shift(checkpoint, entry.debit_account_id, entry.asset, effect.debit, -1n);
    shift(checkpoint, entry.credit_account_id, entry.asset, effect.credit, -1n);
  }
}

/**
 * What does not add up, once every entry there was has been folded in (judged earlier, a transaction's entries cut
 * by a read's bound would look unexplained). Bounded by the entries folded in since the last clear.
 */
export function ledgerDiscrepancies(checkpoint: LedgerCheckpoint): LedgerDiscrepancy[] {
  const found: LedgerDiscrepancy[] = [];
  for (const { ref, asset } of checkpoint.unreadable) found.push({ kind: 'unreadable_entry', ref, asset });
  for (const [accountId, { asset, totals }] of checkpoint.unexplained)
    totals.forEach((by, i) => {
      if (by !== 0n)
        found.push({
          kind: 'unexplained_change',
          accountId,
          asset,
          total: TOTALS[i] as (typeof TOTALS)[number],
          by,
        });
    });
  for (const [asset, { posted, pending }] of checkpoint.imbalance)
    found.push({ kind: 'asset_not_balanced', asset, posted, pending });
  return found;
}

/** Once reported, a discrepancy is absorbed: reported once (the full recount still sees it, every time it runs). */
export function clearLedgerDiscrepancies(checkpoint: LedgerCheckpoint): void {
  checkpoint.unreadable.length = 0;
  checkpoint.unexplained.clear();
  checkpoint.imbalance.clear();
}

/** One line an operator reads. */
export function describeLedgerDiscrepancy(discrepancy: LedgerDiscrepancy): string {
  switch (discrepancy.kind) {
    case 'unexplained_change':
      return `account ${discrepancy.accountId} (${discrepancy.asset}): ${discrepancy.total} moved by ${discrepancy.by} with no transfer to explain it`;
    case 'asset_not_balanced':
      return `${discrepancy.asset}: posted debits minus credits moved by ${discrepancy.posted}, pending by ${discrepancy.pending}`;
    case 'unreadable_entry':
      return `ledger entry ${discrepancy.ref} (${discrepancy.asset}) cannot be read`;
  }
}
