import { bech32, bech32m } from 'bech32';
import { ADDRESS_LENGTH_MAX } from './input-bounds.ts';

/**
 * Decodes a native segwit address (BIP-173 as amended by BIP-350) without judging its prefix or
 * whether we would pay to it; checksums and the 5-to-8-bit conversion are the `bech32` library's.
 */
export type SegwitDecoding =
  | {
      readonly ok: true;
      readonly hrp: string;
      readonly witnessVersion: number;
      readonly program: Uint8Array;
      /** Lower case: BIP-173 allows either case, and lower case is the presentation form. */
      readonly normalized: string;
    }
  | { readonly ok: false; readonly reason: string };

const WITNESS_VERSION_MAX = 16;
const PROGRAM_BYTES_MIN = 2;
const PROGRAM_BYTES_MAX = 40;
const V0_PROGRAM_BYTES: readonly number[] = [20, 32];

function refuse(reason: string): SegwitDecoding {
  return { ok: false, reason };
}

export function decodeSegwitAddress(input: string): SegwitDecoding {
  const lower = input.toLowerCase();
  if (input !== lower && input !== input.toUpperCase()) {
    return refuse('bech32 address mixes upper and lower case');
  }
  const asBech32 = bech32.decodeUnsafe(lower, ADDRESS_LENGTH_MAX);
  const asBech32m = asBech32 === undefined ? bech32m.decodeUnsafe(lower, ADDRESS_LENGTH_MAX) : undefined;
  const decoded = asBech32 ?? asBech32m;
  if (decoded === undefined) {
    return refuse(
      'bech32 checksum does not match: a character is wrong, missing or not in the bech32 alphabet',
    );
  }
  const encoding = asBech32 === undefined ? 'bech32m' : 'bech32';
  const [witnessVersion, ...programWords] = decoded.words;
  if (witnessVersion === undefined) return refuse('bech32 address has no witness version and no program');
  if (witnessVersion > WITNESS_VERSION_MAX) {
    return refuse(`witness version ${witnessVersion} does not exist (0 to ${WITNESS_VERSION_MAX})`);
  }
  // BIP-350: accepting either checksum for a version would leave only 29 bits of error detection.
  const required = witnessVersion === 0 ? 'bech32' : 'bech32m';
  if (encoding !== required) {
    return refuse(
      `witness version ${witnessVersion} must be encoded with ${required}, not ${encoding} (BIP-350)`,
    );
  }
  const program = bech32.fromWordsUnsafe(programWords);
  if (program === undefined) return refuse('witness program has invalid padding');
  if (program.length < PROGRAM_BYTES_MIN || program.length > PROGRAM_BYTES_MAX) {
    return refuse(
      `witness program is ${program.length} bytes; it must be ${PROGRAM_BYTES_MIN} to ${PROGRAM_BYTES_MAX}`,
    );
  }
  if (witnessVersion === 0 && !V0_PROGRAM_BYTES.includes(program.length)) {
    return refuse(`witness version 0 program is ${program.length} bytes; it must be 20 or 32 (BIP-141)`);
  }
  return {
    ok: true,
    hrp: decoded.prefix,
    witnessVersion,
    program: Uint8Array.from(program),
    normalized: lower,
  };
}

/**
 * Whether the input is written as a bech32 string: its checksum holds under either variant, or it
 * starts with one of the given prefixes and a separator. Anything else is read as base58.
 */
export function isWrittenAsBech32(input: string, knownHrps: readonly string[]): boolean {
  const lower = input.toLowerCase();
  if (knownHrps.some((hrp) => lower.startsWith(`${hrp}1`))) return true;
  return (
    bech32.decodeUnsafe(lower, ADDRESS_LENGTH_MAX) !== undefined ||
    bech32m.decodeUnsafe(lower, ADDRESS_LENGTH_MAX) !== undefined
  );
}
