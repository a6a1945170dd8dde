import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '../../../src/core/errors.ts';
import { formatAmount, MAX_AMOUNT, parseAmount } from '../../../src/core/money/amount.ts';
import { type Asset, listAssets } from '../../../src/core/money/assets.ts';
import { parseUsd } from '../../../src/core/money/usd.ts';

const anyAsset = fc.constantFrom(...listAssets());

/** A valid decimal string for `asset` (up to its decimals, within MAX_AMOUNT) and its canonical form. */
function validDecimal(asset: Asset) {
  const maxWhole = MAX_AMOUNT / 10n ** BigInt(asset.decimals) - 1n;
  return fc
    .record({
      whole: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: maxWhole })),
      fraction: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: asset.decimals }),
    })
    .filter(({ whole, fraction }) => whole > 0n || /[1-9]/.test(fraction))
    .map(({ whole, fraction }) => {
      const text = fraction === '' ? whole.toString() : `${whole}.${fraction}`;
      // Canonical form, worked out independently of the code under test: strip trailing zeros.
      const trimmed = fraction.replace(/0+$/, '');
      const canonical = trimmed === '' ? whole.toString() : `${whole}.${trimmed}`;
      return { text, canonical };
    });
}

/** Strings near the grammar, where parsers go wrong, plus arbitrary unicode and binary garbage. */
const garbage = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789.-+eExX_, \t'), maxLength: 70 }),
  fc.string({
    unit: fc.constantFrom('0', '1', '.', '\u0661', '\uff11', '\u00a0', '\u200b', 'e'),
    maxLength: 30,
  }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

function isInvalidInput(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'INVALID_INPUT' && typeof error.field === 'string';
}

describe('amount round trips, for every asset', () => {
  test('format then parse gives back every bigint in [1, MAX_AMOUNT]', () => {
    const units = fc.oneof(
      fc.bigInt({ min: 1n, max: MAX_AMOUNT }),
      fc.bigInt({ min: 1n, max: 10n ** 20n }),
      fc.constantFrom(1n, MAX_AMOUNT, MAX_AMOUNT - 1n, 10n ** 8n, 10n ** 18n),
    );
    fc.assert(
      fc.property(anyAsset, units, (asset, value) => {
        assert.equal(parseAmount(formatAmount(value, asset), asset), value);
      }),
      { numRuns: 2000 },
    );
  });

  test('parse then format gives the canonical form of every valid decimal string', () => {
    fc.assert(
      fc.property(
        anyAsset.chain((asset) => validDecimal(asset).map((decimal) => ({ asset, ...decimal }))),
        ({ asset, text, canonical }) => {
          assert.equal(formatAmount(parseAmount(text, asset), asset), canonical);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('formatted amounts are always canonical text, which parses strictly', () => {
    fc.assert(
      fc.property(anyAsset, fc.bigInt({ min: 0n, max: MAX_AMOUNT }), (asset, value) => {
        const text = formatAmount(value, asset);
        assert.match(text, /^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/);
        assert.ok(text.length <= 64);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('garbage never gets past the parsers as anything but INVALID_INPUT', () => {
  test('arbitrary strings give a bigint or INVALID_INPUT, nothing else', () => {
    fc.assert(
      fc.property(anyAsset, garbage, fc.boolean(), (asset, text, allowZero) => {
        let units: bigint;
        try {
          units = parseAmount(text, asset, { allowZero });
        } catch (error) {
          assert.ok(isInvalidInput(error), `unexpected ${String(error)} for ${JSON.stringify(text)}`);
          return;
        }
        // Whatever was accepted must be the canonical grammar and round-trip to an equal value.
        assert.match(text, /^(0|[1-9][0-9]*)(\.[0-9]+)?$/);
        assert.ok(units >= (allowZero ? 0n : 1n) && units <= MAX_AMOUNT);
        assert.equal(parseAmount(formatAmount(units, asset), asset, { allowZero }), units);
      }),
      { numRuns: 5000 },
    );
  });

  test('arbitrary strings given as USD give a value or INVALID_INPUT, nothing else', () => {
    fc.assert(
      fc.property(garbage, (text) => {
        try {
          parseUsd(text);
        } catch (error) {
          assert.ok(isInvalidInput(error), `unexpected ${String(error)} for ${JSON.stringify(text)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
