import bs58check from 'bs58check';

/**
 * Decodes a Base58Check string (checksum by the `bs58check` library) into its version byte and
 * body, without judging whether the version belongs to the network asked about.
 */
export type Base58Decoding =
  | { readonly ok: true; readonly version: number; readonly body: Uint8Array }
  | { readonly ok: false; readonly reason: string };

const BASE58_ALPHABET = /^[1-9A-HJ-NP-Za-km-z]+$/;

export function decodeBase58Check(input: string): Base58Decoding {
  if (!BASE58_ALPHABET.test(input)) {
    return {
      ok: false,
      reason: 'address has a character outside the base58 alphabet (0, O, I and l never occur)',
    };
  }
  const payload = bs58check.decodeUnsafe(input);
  if (payload === undefined || payload.length === 0) {
    return { ok: false, reason: 'base58check checksum does not match: a character is wrong or missing' };
  }
  return { ok: true, version: payload[0]!, body: payload.subarray(1) };
}
