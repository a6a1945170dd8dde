// Loads the vendored address test vectors (see test/fixtures/addresses/README.md for their sources).
import { readFileSync } from 'node:fs';

const FIXTURES = new URL('../../fixtures/addresses/', import.meta.url);

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

/** [address, scriptPubKey hex] for valid ones, [address, reason as the BIP words it] for invalid ones. */
export interface SegwitVectors {
  readonly valid: readonly (readonly [string, string])[];
  readonly invalid: readonly (readonly [string, string])[];
}

export interface Eip55Vectors {
  readonly allCaps: readonly string[];
  readonly allLower: readonly string[];
  readonly normal: readonly string[];
}

export type KeyIoChain = 'main' | 'testnet4' | 'signet' | 'regtest';

export type KeyIoValid = readonly [
  string,
  string,
  { readonly chain: KeyIoChain; readonly isPrivkey: boolean; readonly tryCaseFlip?: boolean },
];

export const bip173 = load<SegwitVectors>('bip173.json');
export const bip350 = load<SegwitVectors>('bip350.json');
export const eip55 = load<Eip55Vectors>('eip55.json');
export const keyIoValid = load<readonly KeyIoValid[]>('key_io_valid.json');
export const keyIoInvalid = load<readonly (readonly [string])[]>('key_io_invalid.json').map(
  ([address]) => address,
);

/** The type an output script is, read from its bytes independently of the code under test. */
export function scriptType(scriptHex: string): string {
  if (/^76a914[0-9a-f]{40}88ac$/.test(scriptHex)) return 'p2pkh';
  if (/^a914[0-9a-f]{40}87$/.test(scriptHex)) return 'p2sh';
  if (/^0014[0-9a-f]{40}$/.test(scriptHex)) return 'p2wpkh';
  if (/^0020[0-9a-f]{64}$/.test(scriptHex)) return 'p2wsh';
  if (/^5120[0-9a-f]{64}$/.test(scriptHex)) return 'p2tr';
  return 'witness_unknown';
}

const SECP256K1_P = 2n ** 256n - 2n ** 32n - 977n;

function powMod(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Whether x is the x-coordinate of a secp256k1 point (y² = x³ + 7 has a root), by Euler's criterion. */
export function isCurveX(xHex: string): boolean {
  const x = BigInt(`0x${xHex}`);
  if (x >= SECP256K1_P) return false;
  const ySquared = (x ** 3n + 7n) % SECP256K1_P;
  return ySquared === 0n || powMod(ySquared, (SECP256K1_P - 1n) / 2n, SECP256K1_P) === 1n;
}
