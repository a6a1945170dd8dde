import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HaltScopeFields, haltCovers } from '../../../src/core/halts/halt-scope.ts';

const btc = { asset: 'BTC', network: 'bitcoin', accountId: 'acct-1' };
const halt = (fields: Partial<HaltScopeFields> & Pick<HaltScopeFields, 'scope'>): HaltScopeFields => ({
  asset: null,
  network: null,
  account_id: null,
  ...fields,
});

describe('which halts cover a withdrawal', () => {
  test('a global halt covers every withdrawal', () => {
    assert.equal(haltCovers(halt({ scope: 'global' }), btc), true);
    assert.equal(haltCovers(halt({ scope: 'global' }), { ...btc, asset: 'ETH', network: 'ethereum' }), true);
  });

  test('an asset halt covers the asset on every network, or on the one it names', () => {
    assert.equal(haltCovers(halt({ scope: 'asset', asset: 'BTC' }), btc), true);
    assert.equal(haltCovers(halt({ scope: 'asset', asset: 'BTC', network: 'bitcoin' }), btc), true);
    assert.equal(haltCovers(halt({ scope: 'asset', asset: 'BTC', network: 'bitcoin-testnet' }), btc), false);
    assert.equal(haltCovers(halt({ scope: 'asset', asset: 'ETH' }), btc), false);
  });

  test('an account halt covers that account only, whatever the asset', () => {
    assert.equal(haltCovers(halt({ scope: 'account', account_id: 'acct-1' }), btc), true);
    assert.equal(haltCovers(halt({ scope: 'account', account_id: 'acct-2' }), btc), false);
  });

  test('fields a scope does not use change nothing: an account halt naming an asset is still per account', () => {
    assert.equal(haltCovers(halt({ scope: 'account', account_id: 'acct-2', asset: 'BTC' }), btc), false);
    assert.equal(haltCovers(halt({ scope: 'asset', asset: 'ETH', account_id: 'acct-1' }), btc), false);
  });
});

describe('the daily limit at release, at its read bound', () => {
  test('more releases in the window than the read takes, or no price: held; nothing else released: approved', async () => {
    const { releasedDailyUsdLimit } = await import('../../../src/core/risk/release-rules.ts');
    const { usdFromWholeDollars } = await import('../../../src/core/money/usd.ts');
    const base = { dailyLimitUsd: usdFromWholeDollars(50_000n) } as never as Parameters<
      typeof releasedDailyUsdLimit.evaluate
    >[0];
    const at = (releasedLast24h: unknown) =>
      releasedDailyUsdLimit.evaluate({ ...base, releasedLast24h } as never).outcome;
    assert.equal(at({ kind: 'over_cap', cap: 10_000 }), 'review');
    assert.equal(at({ kind: 'unpriced' }), 'review');
    assert.equal(at({ kind: 'none' }), 'approve');
    assert.equal(
      at({ kind: 'valued', usd: usdFromWholeDollars(40_000n), withdrawalUsd: usdFromWholeDollars(10_001n) }),
      'review',
    );
  });
});
