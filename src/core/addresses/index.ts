export { ADDRESS_TYPES, type AddressCheck, type AddressType } from './address-check.ts';
export { checkAddress, normalizeAddress } from './check-address.ts';
export { ADDRESS_LENGTH_MAX } from './input-bounds.ts';
export {
  type DecodedUtxoAddress,
  decodeUtxoAddress,
  type UtxoAddressKind,
  type UtxoDecoding,
} from './utxo-address.ts';
export type { UtxoNetwork } from './utxo-chains.ts';
