import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { formatAmount, MAX_AMOUNT, parseAmount, parseBaseUnits } from '../../../src/core/money/amount.ts';
import { getAsset } from '../../../src/core/money/assets.ts';

const BTC = getAsset('BTC');
const ETH = getAsset('ETH');
const USDC = getAsset('USDC');

function refused(reason: RegExp, field = 'amount') {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_INPUT');
    assert.equal(error.field, field);
    assert.match(error.message, reason);
    return true;
  };
}

describe('amounts are parsed exactly', () => {
  test('whole and fractional coins become base units', () => {
    assert.equal(parseAmount('1', BTC), 100_000_000n);
    assert.equal(parseAmount('0.00000001', BTC), 1n);
    assert.equal(parseAmount('21000000', BTC), 2_100_000_000_000_000n);
    assert.equal(parseAmount('0.1', ETH), 10n ** 17n);
    assert.equal(parseAmount('1.000000000000000001', ETH), 10n ** 18n + 1n);
    assert.equal(parseAmount('123.456789', USDC), 123_456_789n);
  });

  test('trailing zeros within the decimals are accepted', () => {
    assert.equal(parseAmount('1.50000000', BTC), 150_000_000n);
  });

  test('zero is accepted only when asked for', () => {
    assert.equal(parseAmount('0', BTC, { allowZero: true }), 0n);
    assert.equal(parseAmount('0.00', BTC, { allowZero: true }), 0n);
  });

  test('MAX_AMOUNT base units is the largest amount accepted', () => {
    const text = formatAmount(MAX_AMOUNT, ETH);
    assert.equal(parseAmount(text, ETH), MAX_AMOUNT);
  });
});

describe('amounts that are refused, with the reason', () => {
  test('an amount with 9 decimals for BTC is refused', () => {
    assert.throws(() => parseAmount('0.000000001', BTC), refused(/9 decimals; at most 8/));
  });

  test('an amount with 7 decimals for USDC is refused, even when the extra digit is zero', () => {
    assert.throws(() => parseAmount('1.0000000', USDC), refused(/7 decimals; at most 6/));
  });

  test('a negative amount is refused', () => {
    assert.throws(() => parseAmount('-1', BTC), refused(/negative/));
  });

  test('negative zero is refused', () => {
    assert.throws(() => parseAmount('-0', BTC, { allowZero: true }), refused(/negative/));
  });

  test('zero is refused by default', () => {
    assert.throws(() => parseAmount('0', BTC), refused(/greater than zero/));
    assert.throws(() => parseAmount('0.00000000', BTC), refused(/greater than zero/));
  });

  test('exponent notation is refused', () => {
    assert.throws(() => parseAmount('1e3', BTC), refused(/exponent/));
    assert.throws(() => parseAmount('1E-8', BTC), refused(/sign|exponent/));
    assert.throws(() => parseAmount('1.5e2', BTC), refused(/exponent/));
  });

  test('leading, trailing and inner spaces are refused', () => {
    for (const text of [' 1', '1 ', '1 000', '\t1', '1\n', '1\u00a0', '\u20031']) {
      assert.throws(() => parseAmount(text, BTC), refused(/whitespace/), JSON.stringify(text));
    }
  });

  test("an explicit '+' sign is refused", () => {
    assert.throws(() => parseAmount('+1', BTC), refused(/sign/));
  });

  test('a sign in the middle is refused', () => {
    assert.throws(() => parseAmount('1-1', BTC), refused(/sign/));
  });

  test('Arabic-Indic digits are refused', () => {
    assert.throws(() => parseAmount('\u0661\u0660', BTC), refused(/non-ASCII/));
  });

  test('full-width digits are refused', () => {
    assert.throws(() => parseAmount('\uff11\uff10', BTC), refused(/non-ASCII/));
  });

  test('a full-width or Arabic decimal separator is refused', () => {
    assert.throws(() => parseAmount('1\uff0e5', BTC), refused(/non-ASCII/));
    assert.throws(() => parseAmount('1\u066b5', BTC), refused(/non-ASCII/));
  });

  test('a zero-width character is refused', () => {
    assert.throws(() => parseAmount('1\u200b0', BTC), refused(/non-ASCII/));
  });

  test("a leading '.' is refused", () => {
    assert.throws(() => parseAmount('.5', BTC), refused(/starts with a decimal point/));
  });

  test("a trailing '.' is refused", () => {
    assert.throws(() => parseAmount('5.', BTC), refused(/ends with a decimal point/));
  });

  test('the empty string is refused', () => {
    assert.throws(() => parseAmount('', BTC), refused(/empty/));
  });

  test('hex, octal and binary literals are refused', () => {
    for (const text of ['0x10', '0X1f', '0o7', '0b1']) {
      assert.throws(() => parseAmount(text, BTC), refused(/not decimal/), text);
    }
  });

  test('underscores, commas and apostrophes as digit separators are refused', () => {
    for (const text of ['1_000', '1,000', '1,5', "1'000"]) {
      assert.throws(() => parseAmount(text, BTC), refused(/separators/), text);
    }
  });

  test("leading zeros such as '00.1' and '01' are refused, '0.1' is accepted", () => {
    assert.throws(() => parseAmount('00.1', BTC), refused(/leading zeros/));
    assert.throws(() => parseAmount('01', BTC), refused(/leading zeros/));
    assert.throws(() => parseAmount('00', BTC, { allowZero: true }), refused(/leading zeros/));
    assert.equal(parseAmount('0.1', BTC), 10_000_000n);
  });

  test('two decimal points are refused', () => {
    assert.throws(() => parseAmount('1.2.3', BTC), refused(/not a plain decimal/));
  });

  test('Infinity and NaN are refused', () => {
    assert.throws(() => parseAmount('Infinity', BTC), refused(/not a plain decimal/));
    assert.throws(() => parseAmount('NaN', BTC), refused(/not a plain decimal/));
  });

  test('2^127 is refused', () => {
    assert.throws(() => parseAmount((2n ** 127n).toString(), getAsset('BTC'), {}), refused(/maximum/));
    const justOver = formatAmount(MAX_AMOUNT, ETH).replace(/7$/, '8');
    assert.throws(() => parseAmount(justOver, ETH), refused(/maximum/));
  });

  test('an input of 65 characters is refused before it is read', () => {
    assert.throws(() => parseAmount('1'.repeat(65), BTC), refused(/longer than 64/));
    assert.throws(() => parseAmount(' '.repeat(1_000_000), BTC), refused(/longer than 64/));
  });

  test('a value that is not a string is refused', () => {
    assert.throws(() => parseAmount(1 as unknown as string, BTC), refused(/decimal string/));
    assert.throws(() => parseAmount(1n as unknown as string, BTC), refused(/decimal string/));
  });

  test('the error names the field it was given', () => {
    assert.throws(() => parseAmount('-1', BTC, { field: 'body/amount' }), refused(/negative/, 'body/amount'));
  });
});

describe('amounts are formatted in minimal form', () => {
  test('no trailing zeros and no trailing point', () => {
    assert.equal(formatAmount(150_000_000n, BTC), '1.5');
    assert.equal(formatAmount(100_000_000n, BTC), '1');
    assert.equal(formatAmount(1n, BTC), '0.00000001');
    assert.equal(formatAmount(0n, BTC), '0');
    assert.equal(formatAmount(1n, ETH), '0.000000000000000001');
    assert.equal(formatAmount(1_000_000n, USDC), '1');
  });

  test('a negative amount cannot be formatted', () => {
    assert.throws(() => formatAmount(-1n, BTC), refused(/negative/));
  });

  test('an amount over MAX_AMOUNT cannot be formatted', () => {
    assert.throws(() => formatAmount(MAX_AMOUNT + 1n, BTC), refused(/maximum/));
  });

  test('a JS number is not an amount', () => {
    assert.throws(() => formatAmount(1 as unknown as bigint, BTC), refused(/bigint/));
  });
});

describe('base units read back from the store', () => {
  test('digits become the same bigint', () => {
    assert.equal(parseBaseUnits('0'), 0n);
    assert.equal(parseBaseUnits(MAX_AMOUNT.toString()), MAX_AMOUNT);
  });

  test('a fraction or a sign is refused', () => {
    assert.throws(() => parseBaseUnits('1.5'), refused(/decimals/));
    assert.throws(() => parseBaseUnits('-1'), refused(/negative/));
  });
});
