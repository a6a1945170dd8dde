import type { Address } from 'viem';
import { getAddress } from 'viem/utils';
import { type AddressCheck, invalidAddress, validAddress } from './address-check.ts';

/**
 * Ethereum accounts (EIP-55). A mixed-case address carries a checksum in its letter case and must
 * match it; an all-lower or all-upper one carries none (EIP-55 leaves those unchecked) and is
 * accepted as written. Either way the stored form is the checksummed one. The keccak-based
 * checksum is viem's.
 */
const ETHEREUM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;

export function checkEthereumAddress(input: string): AddressCheck {
  if (!input.startsWith('0x')) return invalidAddress('ethereum address must start with "0x"');
  if (!ETHEREUM_ADDRESS.test(input)) {
    return invalidAddress('ethereum address must be "0x" followed by exactly 40 hexadecimal digits');
  }
  const digits = input.slice(2);
  const lower = `0x${digits.toLowerCase()}` as Address;
  // Nobody holds the key to the zero address; a payment to it is a burn, usually by mistake.
  if (lower === ZERO_ADDRESS) return invalidAddress('the zero address burns whatever is sent to it');
  const checksummed = getAddress(lower);
  const caseCarriesChecksum = digits !== digits.toLowerCase() && digits !== digits.toUpperCase();
  if (caseCarriesChecksum && checksummed !== input) {
    return invalidAddress('EIP-55 checksum does not match: a letter has the wrong case, or a digit is wrong');
  }
  return validAddress(checksummed, 'account');
}
