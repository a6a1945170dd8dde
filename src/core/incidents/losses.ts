import { getAsset } from '../money/assets.ts';
import { addUsd, USD_ZERO, type Usd, usdValue } from '../money/usd.ts';
import type { WithdrawalState } from '../withdrawals/states.ts';
import { type AffectedClassification, withdrawalOutcome } from './outcome.ts';

/**
 * An incident's losses, counted from the withdrawals marked as affected by it. Pure: the store gathers the facts
 * (src/store/incident-losses.ts), this decides what they add up to, exactly: amounts in base units, USD on the
 * 10^-36 grid of core/money/usd.ts. Legitimate withdrawals are excluded; unauthorized and suspect ones count.
 *
 * What a customer lost is what left their balance: the amount and the fee (the hold is amount + fee), so every
 * figure here is on amount + fee (`units`), with the fee also shown on its own.
 */

export interface AffectedWithdrawalFacts {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly classification: AffectedClassification;
  readonly state: WithdrawalState;
  /** USD per whole coin: the price stored at confirmation, else one from the price history; null when neither. */
  readonly usdPrice: Usd | null;
  readonly priceOrigin: 'confirmation' | 'history' | null;
}

/** One bucket (prevented, lost, in doubt, or all of them) of one asset. */
export interface BucketTotals {
  readonly count: number;
  readonly amount: bigint;
  readonly fee: bigint;
  /** amount + fee. */
  readonly units: bigint;
  /** The USD value of the priced withdrawals' units; `unpriced` counts those left out. */
  readonly usd: Usd;
  readonly unpriced: number;
}

export type LossBucket = 'prevented' | 'lost' | 'in_doubt';
export const LOSS_BUCKETS: readonly LossBucket[] = ['prevented', 'lost', 'in_doubt'];

export interface AssetLosses {
  readonly asset: string;
  readonly prevented: BucketTotals;
  readonly lost: BucketTotals;
  readonly in_doubt: BucketTotals;
  readonly all: BucketTotals;
  /** Unauthorized and lost: what reimbursement pays back, per withdrawal amount + fee. */
  readonly reimbursable: { readonly count: number; readonly units: bigint };
}

export interface IncidentLosses {
  /** By asset code, in code order. */
  readonly assets: readonly AssetLosses[];
  readonly usd: Readonly<Record<LossBucket | 'all', Usd>>;
  readonly counts: Readonly<Record<LossBucket | 'all', number>>;
  /** Distinct customer accounts among the counted (non-legitimate) withdrawals. */
  readonly accountsAffected: number;
  readonly byClassification: { readonly unauthorized: number; readonly suspect: number };
  readonly legitimateExcluded: number;
  /** Withdrawals with no price at all: in the base-unit totals, not in the USD ones. */
  readonly unpriced: readonly string[];
  /** Prevented over all, in USD, as a percentage with two decimals (half-even); null when nothing is priced. */
  readonly sharePreventedUsd: string | null;
}

/**
 * A withdrawal not released yet counts as prevented: nothing is released without the monitor's own verdict, and
 * containment cancels what is in flight. The report lists the ones still in flight among its open items.
 */
const BUCKET_OF = {
  stopped: 'prevented',
  in_flight: 'prevented',
  lost: 'lost',
  in_doubt: 'in_doubt',
} as const;

const EMPTY_BUCKET: BucketTotals = Object.freeze({
  count: 0,
  amount: 0n,
  fee: 0n,
  units: 0n,
  usd: USD_ZERO,
  unpriced: 0,
});

function addTo(bucket: BucketTotals, amount: bigint, fee: bigint, usd: Usd | null): BucketTotals {
  return {
    count: bucket.count + 1,
    amount: bucket.amount + amount,
    fee: bucket.fee + fee,
    units: bucket.units + amount + fee,
    usd: usd === null ? bucket.usd : addUsd(bucket.usd, usd),
    unpriced: bucket.unpriced + (usd === null ? 1 : 0),
  };
}

interface AssetAccumulator {
  prevented: BucketTotals;
  lost: BucketTotals;
  in_doubt: BucketTotals;
  all: BucketTotals;
  reimbursable: { count: number; units: bigint };
}

/** The losses of one incident from the facts of its affected withdrawals (any order; each withdrawal once). */
export function incidentLosses(affected: readonly AffectedWithdrawalFacts[]): IncidentLosses {
  const perAsset = new Map<string, AssetAccumulator>();
  const accounts = new Set<string>();
  const unpriced: string[] = [];
  const byClassification = { unauthorized: 0, suspect: 0 };
  let legitimateExcluded = 0;
  for (const w of affected) {
    if (w.classification === 'legitimate') {
      legitimateExcluded += 1;
      continue;
    }
    if (w.amount < 0n || w.fee < 0n)
      throw new RangeError(`withdrawal ${w.withdrawalId} has a negative amount`);
    byClassification[w.classification] += 1;
    accounts.add(w.accountId);
    const asset = getAsset(w.asset);
    const usd = w.usdPrice === null ? null : usdValue(w.amount + w.fee, asset, w.usdPrice);
    if (usd === null) unpriced.push(w.withdrawalId);
    const outcome = withdrawalOutcome(w.state);
    const bucket = BUCKET_OF[outcome];
    const totals = perAsset.get(asset.code) ?? {
      prevented: EMPTY_BUCKET,
      lost: EMPTY_BUCKET,
      in_doubt: EMPTY_BUCKET,
      all: EMPTY_BUCKET,
      reimbursable: { count: 0, units: 0n },
    };
    totals[bucket] = addTo(totals[bucket], w.amount, w.fee, usd);
    totals.all = addTo(totals.all, w.amount, w.fee, usd);
    if (outcome === 'lost' && w.classification === 'unauthorized') {
      totals.reimbursable = {
        count: totals.reimbursable.count + 1,
        units: totals.reimbursable.units + w.amount + w.fee,
      };
    }
    perAsset.set(asset.code, totals);
  }
  const assets = [...perAsset.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([asset, t]) => Object.freeze({ asset, ...t }));
  const sumUsd = (bucket: LossBucket | 'all') => addUsd(...assets.map((a) => a[bucket].usd));
  const sumCount = (bucket: LossBucket | 'all') => assets.reduce((n, a) => n + a[bucket].count, 0);
  const usd = {
    prevented: sumUsd('prevented'),
    lost: sumUsd('lost'),
    in_doubt: sumUsd('in_doubt'),
    all: sumUsd('all'),
  };
  return Object.freeze({
    assets,
    usd,
    counts: {
      prevented: sumCount('prevented'),
      lost: sumCount('lost'),
      in_doubt: sumCount('in_doubt'),
      all: sumCount('all'),
    },
    accountsAffected: accounts.size,
    byClassification,
    legitimateExcluded,
    unpriced: unpriced.sort(),
    sharePreventedUsd: sharePercent(usd.prevented.scaled, usd.all.scaled),
  });
}

/** `part` of `whole` as a percentage with two decimals, rounded half-even; null when `whole` is zero. */
export function sharePercent(part: bigint, whole: bigint): string | null {
  if (whole <= 0n) return null;
  const scaled = part * 10_000n;
  let hundredths = scaled / whole;
  const twice = (scaled % whole) * 2n;
  if (twice > whole || (twice === whole && hundredths % 2n === 1n)) hundredths += 1n;
  const text = hundredths.toString().padStart(3, '0');
  return `${text.slice(0, -2)}.${text.slice(-2)}`;
}
