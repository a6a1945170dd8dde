import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '../../../src/core/errors.ts';
import { MAX_AMOUNT, parseAmount } from '../../../src/core/money/amount.ts';
import { getAsset } from '../../../src/core/money/assets.ts';
import {
  addUsd,
  compareUsd,
  formatUsd,
  formatUsdExact,
  parseUsd,
  parseUsdPrice,
  subtractUsd,
  USD_ZERO,
  usdFromWholeDollars,
  usdValue,
} from '../../../src/core/money/usd.ts';

const BTC = getAsset('BTC');
const ETH = getAsset('ETH');
const USDC = getAsset('USDC');

function refused(field: string, reason?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'INVALID_INPUT');
    assert.equal(error.field, field);
    if (reason !== undefined) assert.match(error.message, reason);
    return true;
  };
}

describe('USD valuation is exact', () => {
  test('1 wei at a 7-digit price keeps every digit', () => {
    const value = usdValue(1n, ETH, parseUsdPrice('1234567.89'));
    assert.equal(formatUsdExact(value), '0.00000000000123456789');
  });

  test('the largest ETH amount at a price with 18 decimals keeps every digit', () => {
    const price = parseUsdPrice('999999.999999999999999999');
    const value = usdValue(MAX_AMOUNT, ETH, price);
    // In 10^-36 USD: MAX_AMOUNT wei * (999999999999999999999999 * 10^18) / 10^18.
    const expected = MAX_AMOUNT * 999_999_999_999_999_999_999_999n;
    assert.equal(value.scaled, expected);
  });

  test('0.1 BTC plus 0.2 BTC at USD 1 is exactly USD 0.3 (floats say 0.30000000000000004)', () => {
    assert.notEqual(0.1 + 0.2, 0.3);
    const one = parseUsdPrice('1');
    const sum = addUsd(
      usdValue(parseAmount('0.1', BTC), BTC, one),
      usdValue(parseAmount('0.2', BTC), BTC, one),
    );
    assert.equal(compareUsd(sum, parseUsd('0.3')), 0);
    assert.equal(formatUsdExact(sum), '0.3');
  });

  test('ten withdrawals of USD 1,000.10 reach a USD 10,001 limit exactly', () => {
    const each = usdValue(parseAmount('1000.1', USDC), USDC, parseUsdPrice('1'));
    const total = addUsd(...Array.from({ length: 10 }, () => each));
    assert.equal(compareUsd(total, parseUsd('10001')), 0);
    assert.equal(compareUsd(total, parseUsd('10000.999999999999999999')), 1);
  });

  test('a stablecoin slightly under par is valued below its face', () => {
    const value = usdValue(parseAmount('10000', USDC), USDC, parseUsdPrice('0.999812'));
    assert.equal(formatUsdExact(value), '9998.12');
    assert.equal(compareUsd(value, parseUsd('10000')), -1);
  });

  test('one satoshi at USD 64,123.45 is USD 0.0006412345', () => {
    assert.equal(formatUsdExact(usdValue(1n, BTC, parseUsdPrice('64123.45'))), '0.0006412345');
  });

  test('zero units are worth zero', () => {
    assert.equal(compareUsd(usdValue(0n, BTC, parseUsdPrice('64123.45')), USD_ZERO), 0);
  });

  test('a negative amount cannot be valued', () => {
    assert.throws(() => usdValue(-1n, BTC, parseUsdPrice('1')), refused('amount'));
  });

  test('valuation agrees with integer arithmetic for any amount and price', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_AMOUNT }),
        fc.bigInt({ min: 1n, max: 10n ** 24n }),
        fc.constantFrom(BTC, ETH, USDC),
        (units, priceMicros, asset) => {
          const price = parseUsdPrice(micros(priceMicros));
          const value = usdValue(units, asset, price);
          // value * 10^decimals * 10^6 == units * priceMicros * 10^36, all integers.
          assert.equal(
            value.scaled * 10n ** BigInt(asset.decimals) * 10n ** 6n,
            units * priceMicros * 10n ** 36n,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('subtraction may go below zero and says so', () => {
    const left = subtractUsd(parseUsd('250000'), parseUsd('250000.01'));
    assert.equal(formatUsdExact(left), '-0.01');
    assert.equal(compareUsd(left, USD_ZERO), -1);
  });
});

function micros(value: bigint): string {
  const text = value.toString().padStart(7, '0');
  const whole = text.slice(0, -6);
  const fraction = text.slice(-6).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

describe('USD text is refused like amounts', () => {
  test('a zero price is refused: it would let every limit pass', () => {
    assert.throws(() => parseUsdPrice('0'), refused('usdPrice', /greater than zero/));
  });

  test('a price with 19 decimals is refused', () => {
    assert.throws(() => parseUsdPrice(`0.${'1'.repeat(19)}`), refused('usdPrice', /19 decimals/));
  });

  test('a negative, signed, exponent or separated price is refused', () => {
    for (const text of ['-1', '+1', '6.4e4', '64,123.45', '64_123', ' 1', '1.', '.5', '01']) {
      assert.throws(() => parseUsdPrice(text), refused('usdPrice'), text);
    }
  });

  test('a price above a quintillion dollars is refused', () => {
    assert.throws(() => parseUsd('1000000000000000000.000000000000000001'), refused('usd', /maximum/));
    assert.equal(formatUsdExact(parseUsd('1000000000000000000')), '1000000000000000000');
  });

  test('zero USD is accepted where asked for', () => {
    assert.equal(compareUsd(parseUsd('0', { allowZero: true }), USD_ZERO), 0);
  });
});

describe('USD formatting names its rounding rule', () => {
  const value = (text: string) => parseUsd(text, { allowZero: true });

  test('half-even sends ties to the even cent', () => {
    assert.equal(formatUsd(value('0.125'), { places: 2, rounding: 'half-even' }), '0.12');
    assert.equal(formatUsd(value('0.135'), { places: 2, rounding: 'half-even' }), '0.14');
    assert.equal(formatUsd(value('0.1250000000000001'), { places: 2, rounding: 'half-even' }), '0.13');
    assert.equal(formatUsd(value('2.5'), { places: 0, rounding: 'half-even' }), '2');
  });

  test('half-up sends ties away from zero', () => {
    assert.equal(formatUsd(value('0.125'), { places: 2, rounding: 'half-up' }), '0.13');
    assert.equal(formatUsd(value('0.124999'), { places: 2, rounding: 'half-up' }), '0.12');
  });

  test('down truncates and up never under-states', () => {
    assert.equal(formatUsd(value('0.129'), { places: 2, rounding: 'down' }), '0.12');
    assert.equal(formatUsd(value('0.120000000000000001'), { places: 2, rounding: 'up' }), '0.13');
  });

  test('the output always has exactly the places asked for', () => {
    assert.equal(formatUsd(value('10000'), { places: 2, rounding: 'half-even' }), '10000.00');
    assert.equal(formatUsd(value('0'), { places: 2, rounding: 'half-even' }), '0.00');
    assert.equal(formatUsd(value('0.999'), { places: 2, rounding: 'half-even' }), '1.00');
    assert.equal(formatUsd(value('64123.45'), { places: 0, rounding: 'half-even' }), '64123');
  });

  test('negative values keep their sign, and a value that rounds to zero loses it', () => {
    const owed = subtractUsd(parseUsd('1'), parseUsd('2.345'));
    assert.equal(formatUsd(owed, { places: 2, rounding: 'half-even' }), '-1.34');
    assert.equal(formatUsd(owed, { places: 2, rounding: 'half-up' }), '-1.35');
    const tiny = subtractUsd(USD_ZERO, parseUsd('0.001'));
    assert.equal(formatUsd(tiny, { places: 2, rounding: 'half-even' }), '0.00');
  });

  test('places outside 0 to 18 are refused', () => {
    assert.throws(() => formatUsd(USD_ZERO, { places: 19, rounding: 'half-even' }), refused('places'));
    assert.throws(() => formatUsd(USD_ZERO, { places: 1.5, rounding: 'half-even' }), refused('places'));
    assert.throws(() => formatUsd(USD_ZERO, { places: -1, rounding: 'half-even' }), refused('places'));
  });

  test('an unknown rounding rule is refused', () => {
    assert.throws(
      () => formatUsd(parseUsd('0.125'), { places: 2, rounding: 'bankers' as 'half-even' }),
      refused('rounding'),
    );
  });

  test('whole dollars give the same value as the text', () => {
    assert.equal(compareUsd(usdFromWholeDollars(250_000n), parseUsd('250000')), 0);
    assert.throws(() => usdFromWholeDollars(-1n), refused('usd'));
  });
});
