import { invalidInput } from '../errors.ts';

/**
 * The one grammar for decimal text that crosses our edge: amounts and USD figures alike.
 * Canonical input is ASCII `0` or `[1-9][0-9]*`, optionally followed by `.` and at least one digit.
 * Anything else is refused with the reason, because a lenient parser is where "1e3", "١٠" or
 * "0x10" turn into a different amount than the person meant. Leading zeros ("00.1", "01") are
 * refused: they are never produced by a correct client and are a classic ambiguity (octal).
 */

/** Longer text is refused before any other work: no regex or bigint sees an unbounded string. */
export const MAX_DECIMAL_TEXT_LENGTH = 64;

const CANONICAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export interface DecimalTextRules {
  /** Digits allowed after the point; the result is scaled by 10^places. */
  readonly places: number;
  readonly field: string;
  readonly allowZero: boolean;
  /** Largest scaled value accepted, inclusive. */
  readonly max: bigint;
  /** What the text is, for messages: "an amount of BTC", "a USD price". */
  readonly what: string;
}

/** Parses decimal text to an integer scaled by 10^places, exactly, or throws INVALID_INPUT. */
export function parseDecimalText(text: unknown, rules: DecimalTextRules): bigint {
  const { field } = rules;
  if (typeof text !== 'string') throw invalidInput(field, `${rules.what} must be a decimal string`);
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    throw invalidInput(field, `${rules.what} is longer than ${MAX_DECIMAL_TEXT_LENGTH} characters`);
  }
  const match = CANONICAL.exec(text);
  if (match === null) {
    // Canonical text passes every one of these checks, so they run only to say what is wrong.
    refuseNonCanonical(text, rules);
    throw invalidInput(field, `${rules.what} is not a plain decimal number`);
  }
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (fraction.length > rules.places) {
    throw invalidInput(
      field,
      `${rules.what} has ${fraction.length} decimals; at most ${rules.places} are allowed`,
    );
  }
  const scaled = BigInt(whole + fraction.padEnd(rules.places, '0'));
  if (scaled === 0n && !rules.allowZero) throw invalidInput(field, `${rules.what} must be greater than zero`);
  if (scaled > rules.max) throw invalidInput(field, `${rules.what} is larger than the maximum`);
  return scaled;
}

// Each known attack gets its own reason, so a client (or an operator reading the log) learns what
// was wrong; the CANONICAL pattern behind these is still the only thing that lets text through.
function refuseNonCanonical(text: string, rules: DecimalTextRules): void {
  const { field, what } = rules;
  if (text === '') throw invalidInput(field, `${what} is empty`);
  if (/\s/u.test(text)) throw invalidInput(field, `${what} contains whitespace`);
  if (/[^\x21-\x7e]/.test(text)) throw invalidInput(field, `${what} contains non-ASCII characters`);
  if (text.startsWith('-')) throw invalidInput(field, `${what} is negative`);
  if (/[+-]/.test(text)) throw invalidInput(field, `${what} carries a sign`);
  if (/^0[xob]/i.test(text)) throw invalidInput(field, `${what} is not decimal (hex, octal or binary)`);
  if (/[eE]/.test(text)) throw invalidInput(field, `${what} uses exponent notation`);
  if (/[_,']/.test(text)) throw invalidInput(field, `${what} contains digit separators`);
  if (text.startsWith('.')) throw invalidInput(field, `${what} starts with a decimal point`);
  if (text.endsWith('.')) throw invalidInput(field, `${what} ends with a decimal point`);
  if (/^0[0-9]/.test(text)) throw invalidInput(field, `${what} has leading zeros`);
}

/** Minimal decimal form of a non-negative scaled integer: no trailing zeros, no trailing point. */
export function formatScaled(scaled: bigint, places: number): string {
  if (scaled < 0n) return `-${formatScaled(-scaled, places)}`;
  const digits = scaled.toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}
