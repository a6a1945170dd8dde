import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usdFromWholeDollars } from '../../../src/core/money/usd.ts';
import {
  emptyLedgerCheckpoint,
  foldLedgerEntries,
  type LedgerFeedEntry,
  ledgerDiscrepancies,
} from '../../../src/core/monitor/ledger-feed.ts';
import { assetVolume, volumeTrips } from '../../../src/core/monitor/volume-breaker.ts';

const transfer = (
  kind: string,
  amount: string,
  debit = 'a',
  credit = 'b',
  asset = 'BTC',
): LedgerFeedEntry => ({
  entry: 'transfer',
  ref: `t-${kind}`,
  asset,
  transfer_kind: kind,
  debit_account_id: debit,
  credit_account_id: credit,
  amount,
  old_totals: null,
  new_totals: null,
});
const account = (id: string, before: string, after: string, asset = 'BTC'): LedgerFeedEntry => ({
  entry: 'account',
  ref: id,
  asset,
  transfer_kind: null,
  debit_account_id: null,
  credit_account_id: null,
  amount: null,
  old_totals: before,
  new_totals: after,
});

test('a hold, then its post, with their balance changes in any order: nothing unexplained', () => {
  const checkpoint = emptyLedgerCheckpoint();
  foldLedgerEntries(checkpoint, [
    account('a', '0,0,0,0', '0,0,5,0'),
    transfer('pending', '5'),
    account('b', '0,0,0,0', '0,0,0,5'),
  ]);
  foldLedgerEntries(checkpoint, [
    transfer('post_pending', '5'),
    account('b', '0,0,0,5', '0,5,0,0'),
    account('a', '0,0,5,0', '5,0,0,0'),
  ]);
  assert.deepEqual(ledgerDiscrepancies(checkpoint), []);
});

test('a balance changed without a transfer, and a transfer without its balances, are unexplained', () => {
  const raised = emptyLedgerCheckpoint();
  foldLedgerEntries(raised, [account('a', '0,10,0,0', '0,99,0,0')]);
  const found = ledgerDiscrepancies(raised).map((d) => d.kind);
  assert.deepEqual(found.sort(), ['asset_not_balanced', 'unexplained_change']);
  const bare = emptyLedgerCheckpoint();
  foldLedgerEntries(bare, [transfer('posted', '7')]);
  assert.equal(ledgerDiscrepancies(bare).filter((d) => d.kind === 'unexplained_change').length, 2);
});

test('two accounts changed to cancel out per asset are still unexplained per account; a cross-asset transfer is unbalanced per asset', () => {
  const swapped = emptyLedgerCheckpoint();
  foldLedgerEntries(swapped, [account('a', '0,10,0,0', '0,0,0,0'), account('b', '0,0,0,0', '0,10,0,0')]);
  assert.deepEqual(
    ledgerDiscrepancies(swapped).map((d) => d.kind),
    ['unexplained_change', 'unexplained_change'],
  );
  const crossed = emptyLedgerCheckpoint();
  foldLedgerEntries(crossed, [
    transfer('posted', '3', 'eth', 'btc', 'BTC'),
    account('eth', '0,0,0,0', '3,0,0,0', 'ETH'),
    account('btc', '0,0,0,0', '0,3,0,0', 'BTC'),
  ]);
  assert.deepEqual(
    ledgerDiscrepancies(crossed)
      .map((d) => d.kind)
      .sort(),
    ['asset_not_balanced', 'asset_not_balanced'],
  );
});

test('an entry that cannot be read is a discrepancy, not a crash', () => {
  const checkpoint = emptyLedgerCheckpoint();
  foldLedgerEntries(checkpoint, [account('a', 'x', '0,0,0,0'), transfer('posted', '9'.repeat(9000))]);
  assert.deepEqual(
    ledgerDiscrepancies(checkpoint).map((d) => d.kind),
    ['unreadable_entry', 'unreadable_entry'],
  );
});

const policy = {
  window_ms: 3_600_000,
  baselineWindows: 24,
  multiple: 5,
  floorUsd: usdFromWholeDollars(100_000n),
};
const now = new Date('2026-12-07T12:00:00Z');
const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

test('the breaker: a quiet system under the floor never trips; above the floor a burst beyond the multiple does', () => {
  const first = assetVolume([{ amount: 100n, releasedAt: ago(5) }], now, policy);
  assert.equal(volumeTrips(first, policy, usdFromWholeDollars(99_999n)), false, 'under the floor');
  assert.equal(
    volumeTrips(first, policy, usdFromWholeDollars(100_001n)),
    true,
    'no baseline, above the floor',
  );
  const hourly = Array.from({ length: 24 }, (_, i) => ({ amount: 100n, releasedAt: ago(90 + 60 * i) }));
  const ordinary = assetVolume([...hourly, { amount: 500n, releasedAt: ago(5) }], now, policy);
  assert.deepEqual(ordinary, { current: 500n, baselineTotal: 2400n });
  assert.equal(
    volumeTrips(ordinary, policy, usdFromWholeDollars(200_000n)),
    false,
    'five times the baseline',
  );
  const burst = assetVolume([...hourly, { amount: 501n, releasedAt: ago(5) }], now, policy);
  assert.equal(volumeTrips(burst, policy, usdFromWholeDollars(200_000n)), true);
  assert.equal(volumeTrips(burst, policy, undefined), true, 'unpriced: the multiple alone decides');
});

test('the breaker counts the current window from the last resume', () => {
  const volume = assetVolume([{ amount: 1000n, releasedAt: ago(30) }], now, policy, ago(10));
  assert.deepEqual(volume, { current: 0n, baselineTotal: 0n });
});
