import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { assetOnNetwork, getAsset, listAssets } from '../../../src/core/money/assets.ts';
import { NETWORKS } from '../../../src/core/networks.ts';

function refusedOn(field: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'INVALID_INPUT');
    assert.equal(error.field, field);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

describe('asset registry', () => {
  test('each asset has the decimals of its base unit', () => {
    const decimals = Object.fromEntries(listAssets().map((asset) => [asset.code, asset.decimals]));
    assert.deepEqual(decimals, { BTC: 8, ETH: 18, USDC: 6, LTC: 8 });
  });

  test('BTC is carried on bitcoin and bitcoin-testnet, natively', () => {
    assert.deepEqual(assetOnNetwork('BTC', 'bitcoin'), { network: 'bitcoin', standard: 'native' });
    assert.deepEqual(assetOnNetwork('BTC', 'bitcoin-testnet'), {
      network: 'bitcoin-testnet',
      standard: 'native',
    });
  });

  test('USDC is the ERC-20 at the mainnet contract address', () => {
    assert.deepEqual(assetOnNetwork('USDC', 'ethereum'), {
      network: 'ethereum',
      standard: 'erc20',
      contract: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
    });
  });

  test('every carrier names a known network', () => {
    for (const asset of listAssets()) {
      for (const carrier of asset.carriers)
        assert.ok((NETWORKS as readonly string[]).includes(carrier.network));
    }
  });

  test('BTC on ethereum is refused, naming the network', () => {
    assert.throws(
      () => assetOnNetwork('BTC', 'ethereum'),
      refusedOn('network', /^BTC is not carried on ethereum$/),
    );
  });

  test('USDC on bitcoin is refused', () => {
    assert.throws(() => assetOnNetwork('USDC', 'bitcoin'), refusedOn('network'));
  });

  test('an unknown network is refused', () => {
    assert.throws(() => assetOnNetwork('ETH', 'ethereum-classic'), refusedOn('network'));
  });

  test('an unknown asset is refused, naming the asset field', () => {
    assert.throws(() => getAsset('DOGE'), refusedOn('asset', /unknown asset/));
  });

  test('a lower-case code is refused rather than guessed at', () => {
    assert.throws(() => getAsset('btc'), refusedOn('asset'));
  });

  test('prototype names are not assets', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.throws(() => getAsset(name), refusedOn('asset'));
    }
  });

  test('a huge asset code is not echoed back in full', () => {
    const code = 'X'.repeat(100_000);
    assert.throws(
      () => getAsset(code),
      (error: unknown) => error instanceof DomainError && error.message.length < 200,
    );
  });

  test('the registry cannot be changed at run time', () => {
    const btc = getAsset('BTC');
    assert.ok(Object.isFrozen(btc));
    assert.ok(Object.isFrozen(btc.carriers));
    assert.ok(Object.isFrozen(btc.carriers[0]));
    assert.ok(Object.isFrozen(listAssets()));
    assert.throws(() => {
      (btc as { decimals: number }).decimals = 2;
    }, TypeError);
    assert.equal(getAsset('BTC').decimals, 8);
  });
});
