import { assert, invalidInput } from '../errors.ts';
import { MAX_AMOUNT } from './amount.ts';
import { type Asset, MAX_ASSET_DECIMALS } from './assets.ts';
import { formatScaled, parseDecimalText } from './decimal-text.ts';

/**
 * Exact US dollars on bigint, no floats and no decimal library. Every value is an integer count of
 * 10^-36 USD: prices carry at most 18 decimals and asset base units at most 18, so
 * units * price / 10^decimals always lands on that grid with nothing thrown away, and sums and
 * comparisons (a USD 10,000 daily limit) are plain bigint arithmetic. Rounding happens only when a
 * value is formatted for people, and the caller names the rule.
 */
export const USD_SCALE = 36;

/** Decimals accepted in USD text: prices such as "0.999812" or "64123.45" need far fewer. */
export const USD_INPUT_PLACES = 18;

/** USD text above a quintillion dollars is refused; no price or limit we handle comes near it. */
export const MAX_USD_INPUT = 10n ** 18n;

declare const usdBrand: unique symbol;

/** An exact USD figure: `scaled` / 10^36 dollars. Build with parseUsd or usdValue, never by hand. */
export interface Usd {
  readonly scaled: bigint;
  readonly [usdBrand]: true;
}

const ONE_USD_SCALED = 10n ** BigInt(USD_SCALE);
const INPUT_TO_SCALE = 10n ** BigInt(USD_SCALE - USD_INPUT_PLACES);

function usd(scaled: bigint): Usd {
  return Object.freeze({ scaled }) as Usd;
}

export const USD_ZERO: Usd = usd(0n);

export interface ParseUsdOptions {
  /** Zero is refused unless asked for: a zero price would make every limit pass. */
  readonly allowZero?: boolean;
  readonly field?: string;
}

/** Exact USD from text such as "10000" or "64123.45"; same refusals as amounts (see decimal-text.ts). */
export function parseUsd(text: string, options: ParseUsdOptions = {}): Usd {
  const atInputScale = parseDecimalText(text, {
    places: USD_INPUT_PLACES,
    field: options.field ?? 'usd',
    allowZero: options.allowZero ?? false,
    max: MAX_USD_INPUT * 10n ** BigInt(USD_INPUT_PLACES),
    what: 'a USD value',
  });
  return usd(atInputScale * INPUT_TO_SCALE);
}

/** A USD price of one whole coin; zero is never a price. */
export function parseUsdPrice(text: string, field = 'usdPrice'): Usd {
  return parseUsd(text, { field, allowZero: false });
}

/** The exact USD value of `units` base units of `asset` at `price` per whole coin. */
export function usdValue(units: bigint, asset: Asset, price: Usd): Usd {
  if (typeof units !== 'bigint' || units < 0n || units > MAX_AMOUNT) {
    throw invalidInput('amount', `an amount of ${asset.code} must be between 0 and the maximum base units`);
  }
  assert(asset.decimals <= MAX_ASSET_DECIMALS, `${asset.code} has more decimals than USD can value exactly`);
  assert(price.scaled >= 0n, 'a price is never negative');
  const numerator = units * price.scaled;
  const divisor = 10n ** BigInt(asset.decimals);
  // A price from parseUsd is a multiple of 10^18 on the 10^-36 grid, so this division is exact.
  assert(numerator % divisor === 0n, 'USD valuation lost a digit');
  return usd(numerator / divisor);
}

export function addUsd(...values: readonly Usd[]): Usd {
  let total = 0n;
  for (const value of values) total += value.scaled;
  return usd(total);
}

/** May go below zero (cap minus what was already paid); callers clamp where that matters. */
export function subtractUsd(minuend: Usd, subtrahend: Usd): Usd {
  return usd(minuend.scaled - subtrahend.scaled);
}

export function compareUsd(left: Usd, right: Usd): -1 | 0 | 1 {
  if (left.scaled < right.scaled) return -1;
  return left.scaled > right.scaled ? 1 : 0;
}

/**
 * Rounding rules act on the magnitude: `down` is toward zero, `up` away from zero, `half-up` takes
 * ties away from zero and `half-even` (banker's rounding) takes ties to the even digit.
 */
export type UsdRounding = 'half-even' | 'half-up' | 'down' | 'up';

export interface FormatUsdOptions {
  /** Digits after the point, 0 to 18; the output always has exactly this many. */
  readonly places: number;
  readonly rounding: UsdRounding;
}

/** USD for people: a fixed number of places under a named rounding rule ("1234.50"). */
export function formatUsd(value: Usd, options: FormatUsdOptions): string {
  const { places, rounding } = options;
  if (!Number.isInteger(places) || places < 0 || places > USD_INPUT_PLACES) {
    throw invalidInput('places', `places must be an integer from 0 to ${USD_INPUT_PLACES}`);
  }
  const negative = value.scaled < 0n;
  const magnitude = negative ? -value.scaled : value.scaled;
  const divisor = 10n ** BigInt(USD_SCALE - places);
  const quotient = magnitude / divisor;
  const rounded = quotient + roundingIncrement(quotient, magnitude % divisor, divisor, rounding);
  const digits = rounded.toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const text = places === 0 ? whole : `${whole}.${digits.slice(digits.length - places)}`;
  return negative && rounded !== 0n ? `-${text}` : text;
}

function roundingIncrement(
  quotient: bigint,
  remainder: bigint,
  divisor: bigint,
  rounding: UsdRounding,
): bigint {
  if (remainder === 0n) return 0n;
  const twice = remainder * 2n;
  switch (rounding) {
    case 'down':
      return 0n;
    case 'up':
      return 1n;
    case 'half-up':
      return twice >= divisor ? 1n : 0n;
    case 'half-even':
      if (twice === divisor) return quotient % 2n === 0n ? 0n : 1n;
      return twice > divisor ? 1n : 0n;
    default:
      throw invalidInput('rounding', `unknown rounding rule ${String(rounding)}`);
  }
}

/** Every digit, minimal form ("0.000000000000000000064123"): for audit records and tests. */
export function formatUsdExact(value: Usd): string {
  return formatScaled(value.scaled, USD_SCALE);
}

/** Whole dollars are handy for configuration ("USD 250,000 cap"); no text parsing involved. */
export function usdFromWholeDollars(dollars: bigint): Usd {
  if (typeof dollars !== 'bigint' || dollars < 0n || dollars > MAX_USD_INPUT) {
    throw invalidInput('usd', 'whole dollars must be a bigint from 0 to 10^18');
  }
  return usd(dollars * ONE_USD_SCALED);
}

/**
 * The inverse of formatUsdExact: every digit, up to 36 decimals (how a withdrawal's stored usd_value is written).
 * Same refusals as every decimal text; zero allowed.
 */
export function parseUsdExact(text: string, field = 'usd'): Usd {
  return usd(
    parseDecimalText(text, {
      places: USD_SCALE,
      field,
      allowZero: true,
      max: MAX_USD_INPUT * ONE_USD_SCALED,
      what: 'a USD value',
    }),
  );
}
