import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AffectedWithdrawalFacts,
  incidentLosses,
  sharePercent,
} from '../../../src/core/incidents/losses.ts';
import { withdrawalOutcome } from '../../../src/core/incidents/outcome.ts';
import { getAsset } from '../../../src/core/money/assets.ts';
import { addUsd, parseUsdPrice, USD_ZERO, usdValue } from '../../../src/core/money/usd.ts';
import { WITHDRAWAL_STATES } from '../../../src/core/withdrawals/states.ts';

const facts = fc
  .record({
    withdrawalId: fc.uuid(),
    accountId: fc.constantFrom('a1', 'a2', 'a3', 'a4'),
    asset: fc.constantFrom('BTC', 'ETH', 'USDC', 'LTC'),
    network: fc.constant('net'),
    amount: fc.bigInt({ min: 0n, max: 10n ** 30n }),
    fee: fc.bigInt({ min: 0n, max: 10n ** 20n }),
    classification: fc.constantFrom('unauthorized' as const, 'suspect' as const, 'legitimate' as const),
    state: fc.constantFrom(...WITHDRAWAL_STATES),
    usdPrice: fc.option(
      fc
        .tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 999_999 }))
        .map(([w, f]) => parseUsdPrice(`${w}.${String(f).padStart(6, '0')}`)),
      { nil: null },
    ),
  })
  .map((f): AffectedWithdrawalFacts => ({ ...f, priceOrigin: f.usdPrice === null ? null : 'confirmation' }));

const uniqueFacts = fc.uniqueArray(facts, { selector: (f) => f.withdrawalId, maxLength: 60 });

test('prevented + lost + in doubt add up to all, per asset and in USD, in counts, units and fees', () => {
  fc.assert(
    fc.property(uniqueFacts, (affected) => {
      const losses = incidentLosses(affected);
      for (const a of losses.assets) {
        assert.equal(a.prevented.count + a.lost.count + a.in_doubt.count, a.all.count);
        assert.equal(a.prevented.units + a.lost.units + a.in_doubt.units, a.all.units);
        assert.equal(a.prevented.fee + a.lost.fee + a.in_doubt.fee, a.all.fee);
        assert.equal(a.all.amount + a.all.fee, a.all.units);
        assert.equal(a.prevented.usd.scaled + a.lost.usd.scaled + a.in_doubt.usd.scaled, a.all.usd.scaled);
        assert.ok(a.reimbursable.units <= a.lost.units);
      }
      assert.equal(losses.counts.prevented + losses.counts.lost + losses.counts.in_doubt, losses.counts.all);
      assert.equal(
        losses.usd.prevented.scaled + losses.usd.lost.scaled + losses.usd.in_doubt.scaled,
        losses.usd.all.scaled,
      );
      assert.equal(losses.counts.all + losses.legitimateExcluded, affected.length);
    }),
  );
});

test('the totals equal an independent sum over the withdrawals, legitimate ones left out', () => {
  fc.assert(
    fc.property(uniqueFacts, (affected) => {
      const losses = incidentLosses(affected);
      const counted = affected.filter((f) => f.classification !== 'legitimate');
      for (const code of ['BTC', 'ETH', 'USDC', 'LTC']) {
        const mine = counted.filter((f) => f.asset === code);
        const row = losses.assets.find((a) => a.asset === code);
        if (mine.length === 0) {
          assert.equal(row, undefined);
          continue;
        }
        assert.ok(row);
        const lost = mine.filter((f) => f.state === 'completed');
        assert.equal(
          row.lost.units,
          lost.reduce((s, f) => s + f.amount + f.fee, 0n),
        );
        const reimbursable = lost.filter((f) => f.classification === 'unauthorized');
        assert.equal(
          row.reimbursable.units,
          reimbursable.reduce((s, f) => s + f.amount + f.fee, 0n),
        );
        const usd = addUsd(
          USD_ZERO,
          ...mine.flatMap((f) =>
            f.usdPrice === null ? [] : [usdValue(f.amount + f.fee, getAsset(code), f.usdPrice)],
          ),
        );
        assert.equal(row.all.usd.scaled, usd.scaled);
        assert.equal(row.all.unpriced, mine.filter((f) => f.usdPrice === null).length);
      }
      assert.equal(losses.accountsAffected, new Set(counted.map((f) => f.accountId)).size);
      assert.deepEqual(
        [...losses.unpriced],
        counted
          .filter((f) => f.usdPrice === null)
          .map((f) => f.withdrawalId)
          .sort(),
      );
    }),
  );
});

test('the outcome is read from the state: completed is lost, released/broadcast/errored in doubt, ended before release stopped, the rest in flight', () => {
  assert.equal(withdrawalOutcome('completed'), 'lost');
  for (const s of ['released', 'broadcast', 'errored'] as const)
    assert.equal(withdrawalOutcome(s), 'in_doubt');
  for (const s of ['cancelled', 'rejected', 'expired'] as const)
    assert.equal(withdrawalOutcome(s), 'stopped');
  for (const s of [
    'awaiting_confirmation',
    'screening',
    'queued',
    'held_for_review',
    'time_locked',
  ] as const) {
    assert.equal(withdrawalOutcome(s), 'in_flight');
  }
});

test('the share prevented is exact to the hundredth of a percent, rounded half-even', () => {
  assert.equal(sharePercent(1n, 3n), '33.33');
  assert.equal(sharePercent(2n, 3n), '66.67');
  assert.equal(sharePercent(1n, 8n), '12.50');
  assert.equal(sharePercent(1n, 80000n), '0.00'); // 0.00125 % rounds to 0.00 (half-even, tie to even)
  assert.equal(sharePercent(3n, 80000n), '0.00');
  assert.equal(sharePercent(5n, 3n * 10000n * 2n), '0.01'); // 0.008333 %
  assert.equal(sharePercent(7n, 7n), '100.00');
  assert.equal(sharePercent(0n, 0n), null);
});

test('a negative amount is a bug, never a smaller loss', () => {
  assert.throws(() =>
    incidentLosses([
      {
        withdrawalId: 'w',
        accountId: 'a',
        asset: 'BTC',
        network: 'bitcoin',
        amount: -1n,
        fee: 0n,
        classification: 'unauthorized',
        state: 'completed',
        usdPrice: null,
        priceOrigin: null,
      },
    ]),
  );
});
