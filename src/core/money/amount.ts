import { invalidInput } from '../errors.ts';
import type { Asset } from './assets.ts';
import { formatScaled, parseDecimalText } from './decimal-text.ts';

/**
 * Amounts are plain `bigint` base units paired with their asset; decimal strings exist only at the
 * edge. The ceiling is the largest signed 128-bit integer, which every store and chain we talk to
 * can hold (NUMERIC(40,0) on PostgreSQL, u128 in TigerBeetle-style ledgers).
 */
export const MAX_AMOUNT = 2n ** 127n - 1n;

export interface ParseAmountOptions {
  /** Zero is refused unless asked for: a zero withdrawal or hold is a bug or a probe. */
  readonly allowZero?: boolean;
  /** The input field named in the error; "amount" by default. */
  readonly field?: string;
}

/** Decimal text in whole coins ("0.015" BTC) to base units (1500000n), exactly, or INVALID_INPUT. */
export function parseAmount(text: string, asset: Asset, options: ParseAmountOptions = {}): bigint {
  return parseDecimalText(text, {
    places: asset.decimals,
    field: options.field ?? 'amount',
    allowZero: options.allowZero ?? false,
    max: MAX_AMOUNT,
    what: `an amount of ${asset.code}`,
  });
}

/** Base units to minimal decimal text in whole coins: 150000000n BTC is "1.5", 1n is "0.00000001". */
export function formatAmount(units: bigint, asset: Asset): string {
  if (typeof units !== 'bigint') throw invalidInput('amount', 'an amount must be a bigint of base units');
  if (units < 0n) throw invalidInput('amount', `an amount of ${asset.code} cannot be negative`);
  if (units > MAX_AMOUNT)
    throw invalidInput('amount', `an amount of ${asset.code} is larger than the maximum`);
  return formatScaled(units, asset.decimals);
}

/** Parses text the store wrote (base units as digits) back to bigint, refusing anything else. */
export function parseBaseUnits(text: string, field = 'amount'): bigint {
  return parseDecimalText(text, {
    places: 0,
    field,
    allowZero: true,
    max: MAX_AMOUNT,
    what: 'a base-unit amount',
  });
}
