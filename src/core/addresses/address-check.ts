/**
 * What checking a withdrawal destination answers. A valid answer carries the one canonical
 * spelling to store and compare, so two spellings of the same destination never look different.
 */
export const ADDRESS_TYPES = ['p2pkh', 'p2sh', 'p2wpkh', 'p2wsh', 'p2tr', 'account'] as const;

export type AddressType = (typeof ADDRESS_TYPES)[number];

export type AddressCheck =
  | { readonly valid: true; readonly normalized: string; readonly type: AddressType }
  | { readonly valid: false; readonly reason: string };

export function validAddress(normalized: string, type: AddressType): AddressCheck {
  return { valid: true, normalized, type };
}

export function invalidAddress(reason: string): AddressCheck {
  return { valid: false, reason };
}
