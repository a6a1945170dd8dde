import { invalidInput } from '../errors.ts';
import type { Network } from '../networks.ts';
import type { AddressCheck, AddressType } from './address-check.ts';
import { checkEthereumAddress } from './ethereum-address.ts';
import { refuseOutOfBoundsInput } from './input-bounds.ts';
import { checkUtxoAddress } from './utxo-address.ts';

/** Whether `input` is a destination we will pay to on `network`, and its one canonical spelling. */
export function checkAddress(network: Network, input: string): AddressCheck {
  const refusal = refuseOutOfBoundsInput(input);
  if (refusal !== undefined) return { valid: false, reason: refusal };
  switch (network) {
    case 'ethereum':
      return checkEthereumAddress(input);
    case 'bitcoin':
    case 'bitcoin-testnet':
    case 'litecoin':
      return checkUtxoAddress(network, input);
    default: {
      const unknown: never = network;
      throw new Error(`assertion failed: no address rules for network ${String(unknown)}`);
    }
  }
}

/** For services: the canonical address, or an INVALID_INPUT error on field `address` with the reason. */
export function normalizeAddress(
  network: Network,
  input: string,
): { readonly normalized: string; readonly type: AddressType } {
  const check = checkAddress(network, input);
  if (!check.valid) throw invalidInput('address', check.reason);
  return { normalized: check.normalized, type: check.type };
}
