import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HOTP, Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { assert, invalidInput } from '../errors.ts';

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226). The service enforces "one step per account at most once" by
 * requiring the matched step to be greater than the last used one, so `matchTotpStep` reports the
 * exact step that matched rather than a relative delta.
 */

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface OtpParameters {
  readonly digits?: number;
  readonly algorithm?: TotpAlgorithm;
}

export interface TotpParameters extends OtpParameters {
  readonly period?: number;
}

export interface TotpMatchOptions extends TotpParameters {
  /** Steps either side of the current one that are still accepted (clock drift). Default 1. */
  readonly window?: number;
  /**
   * Steps at or below this one are not considered: pass the account's last used step so that a code
   * which happens to collide with an already used step cannot hide a valid newer step.
   */
  readonly afterStep?: number;
}

export const TOTP_ISSUER = 'Drawbridge';
const DEFAULT_DIGITS = 6;
const DEFAULT_PERIOD_S = 30;
const DEFAULT_WINDOW = 1;
const MAX_WINDOW = 10;
const SECRET_BYTES = 20;
// RFC 4226 section 4: at least 128 bits; the upper bound keeps a stored value from costing much.
const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 128;
const MAX_LABEL_LENGTH = 200;
const MAX_URI_LENGTH = 2048;
const ALGORITHMS: readonly TotpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const BASE32_PATTERN = /^[A-Z2-7]+=*$/;

/** A fresh 160-bit secret (the size RFC 4226 recommends), base32 without padding. */
export function newTotpSecret(): string {
  return new Secret({ buffer: toArrayBuffer(randomBytes(SECRET_BYTES)) }).base32;
}

export function totpUri(input: { secretBase32: string; issuer?: string; label: string }): string {
  const secret = secretFromBase32(input.secretBase32);
  const issuer = input.issuer ?? TOTP_ISSUER;
  checkLabel('issuer', issuer);
  checkLabel('label', input.label);
  return new TOTP({
    issuer,
    label: input.label,
    secret,
    algorithm: 'SHA1',
    digits: DEFAULT_DIGITS,
    period: DEFAULT_PERIOD_S,
  }).toString();
}

/** The enrolment QR code as an SVG document, to be shown once. */
export async function totpQrSvg(uri: string): Promise<string> {
  if (typeof uri !== 'string' || !uri.startsWith('otpauth://totp/') || uri.length > MAX_URI_LENGTH) {
    throw invalidInput('uri', 'must be an otpauth://totp/ URI of at most 2048 characters');
  }
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The HOTP value for one counter; the RFC 4226 and RFC 6238 vectors run through this. */
export function hotp(secret: Uint8Array | string, counter: number, parameters: OtpParameters = {}): string {
  const { digits, algorithm } = otpParameters(parameters);
  assert(Number.isSafeInteger(counter) && counter >= 0, 'an HOTP counter is a non-negative safe integer');
  const key = typeof secret === 'string' ? secretFromBase32(secret) : secretFromBytes(secret);
  return HOTP.generate({ secret: key, algorithm, digits, counter });
}

/** The absolute time step (RFC 6238 T) of an instant. */
export function totpStep(at: Date, period: number = DEFAULT_PERIOD_S): number {
  checkPeriod(period);
  const at_ms = at.getTime();
  assert(Number.isFinite(at_ms) && at_ms >= 0, 'a TOTP instant is a valid date after 1970');
  return Math.floor(at_ms / 1000 / period);
}

export function totpAt(secret: Uint8Array | string, at: Date, parameters: TotpParameters = {}): string {
  return hotp(secret, totpStep(at, parameters.period ?? DEFAULT_PERIOD_S), parameters);
}

/**
 * The time step that `code` belongs to, within `window` steps of `at`, or null. Every candidate in
 * the window is computed and compared in constant time, so the answer's timing does not say which
 * step (if any) matched. A malformed code is refused before any HMAC is computed.
 */
export function matchTotpStep(
  secretBase32: string,
  code: string,
  at: Date,
  options: TotpMatchOptions = {},
): number | null {
  const { digits, algorithm } = otpParameters(options);
  const period = options.period ?? DEFAULT_PERIOD_S;
  const window = options.window ?? DEFAULT_WINDOW;
  assert(Number.isInteger(window) && window >= 0 && window <= MAX_WINDOW, 'a TOTP window is 0..10 steps');
  const afterStep = options.afterStep ?? -1;
  assert(Number.isSafeInteger(afterStep), 'afterStep is an integer');
  if (typeof code !== 'string' || code.length !== digits || !isAsciiDigits(code)) return null;

  const key = secretFromBase32(secretBase32);
  const current = totpStep(at, period);
  const offered = Buffer.from(code, 'ascii');
  let matched: number | null = null;
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(HOTP.generate({ secret: key, algorithm, digits, counter: step }), 'ascii');
    const equal = timingSafeEqual(offered, expected);
    // The earliest still-unused step wins; the loop runs to the end regardless.
    if (equal && matched === null && step > afterStep) matched = step;
  }
  return matched;
}

function isAsciiDigits(code: string): boolean {
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function otpParameters(parameters: OtpParameters): { digits: number; algorithm: TotpAlgorithm } {
  const digits = parameters.digits ?? DEFAULT_DIGITS;
  const algorithm = parameters.algorithm ?? 'SHA1';
  // RFC 4226 section 5.3: 6 to 8 digits (a 31-bit value cannot fill more than 9 anyway).
  assert(Number.isInteger(digits) && digits >= 6 && digits <= 8, 'OTP digits are 6..8');
  assert(ALGORITHMS.includes(algorithm), 'OTP algorithm is SHA1, SHA256 or SHA512');
  return { digits, algorithm };
}

function checkPeriod(period: number): void {
  assert(Number.isInteger(period) && period >= 1 && period <= 300, 'a TOTP period is 1..300 s');
}

function secretFromBase32(secretBase32: string): Secret {
  if (typeof secretBase32 !== 'string' || secretBase32.length > MAX_SECRET_BYTES * 2) {
    throw invalidInput('totpSecret', 'must be a base32 string');
  }
  const normalized = secretBase32.toUpperCase();
  if (!BASE32_PATTERN.test(normalized)) throw invalidInput('totpSecret', 'must be a base32 string');
  let secret: Secret;
  try {
    secret = Secret.fromBase32(normalized);
  } catch (cause) {
    throw invalidInput('totpSecret', `is not valid base32: ${(cause as Error).message}`);
  }
  return checkSecretLength(secret);
}

function secretFromBytes(bytes: Uint8Array): Secret {
  return checkSecretLength(new Secret({ buffer: toArrayBuffer(bytes) }));
}

function checkSecretLength(secret: Secret): Secret {
  const length = secret.bytes.byteLength;
  if (length < MIN_SECRET_BYTES || length > MAX_SECRET_BYTES) {
    throw invalidInput('totpSecret', `must be ${MIN_SECRET_BYTES}..${MAX_SECRET_BYTES} bytes`);
  }
  return secret;
}

function checkLabel(field: string, value: string): void {
  // A colon would split the "issuer:account" label; control characters have no place in an app.
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_LABEL_LENGTH ||
    value.includes(':') ||
    /\p{Cc}/u.test(value)
  ) {
    throw invalidInput(field, 'must be 1..200 printable characters without a colon');
  }
}

/** A copy, so the secret never aliases Node's shared Buffer pool. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.from(bytes).buffer;
}
