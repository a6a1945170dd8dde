import { formatAmount, getAsset } from '../money/index.ts';
import { formatUsd, formatUsdExact, type Usd } from '../money/usd.ts';
import type { BucketTotals, IncidentLosses } from './losses.ts';

/**
 * Losses as the API, the CLI and the report show them: amounts as decimal strings of the asset, USD both rounded to
 * cents (half-even) for people and exact (every digit) for anyone re-adding them.
 */

export interface UsdView {
  readonly usd: string;
  readonly usd_exact: string;
}

export function usdView(value: Usd): UsdView {
  return { usd: formatUsd(value, { places: 2, rounding: 'half-even' }), usd_exact: formatUsdExact(value) };
}

function bucketView(bucket: BucketTotals, assetCode: string) {
  const asset = getAsset(assetCode);
  return {
    count: bucket.count,
    amount: formatAmount(bucket.amount, asset),
    fee: formatAmount(bucket.fee, asset),
    total: formatAmount(bucket.units, asset),
    ...usdView(bucket.usd),
    unpriced: bucket.unpriced,
  };
}

export type BucketView = ReturnType<typeof bucketView>;

export function lossesView(losses: IncidentLosses) {
  return {
    assets: losses.assets.map((a) => {
      const asset = getAsset(a.asset);
      return {
        asset: a.asset,
        prevented: bucketView(a.prevented, a.asset),
        lost: bucketView(a.lost, a.asset),
        in_doubt: bucketView(a.in_doubt, a.asset),
        all: bucketView(a.all, a.asset),
        reimbursable: { count: a.reimbursable.count, total: formatAmount(a.reimbursable.units, asset) },
      };
    }),
    usd: {
      prevented: usdView(losses.usd.prevented),
      lost: usdView(losses.usd.lost),
      in_doubt: usdView(losses.usd.in_doubt),
      all: usdView(losses.usd.all),
    },
    counts: losses.counts,
    accounts_affected: losses.accountsAffected,
    by_classification: losses.byClassification,
    legitimate_excluded: losses.legitimateExcluded,
    unpriced: losses.unpriced,
    share_prevented_usd_percent: losses.sharePreventedUsd,
  };
}

export type LossesView = ReturnType<typeof lossesView>;
