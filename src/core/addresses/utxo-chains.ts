import { networks } from 'bitcoinjs-lib';
import type { Network } from '../networks.ts';

/**
 * Address parameters of the UTXO chains we pay out on. Bitcoin's come from bitcoinjs-lib; it
 * ships none for Litecoin, whose values are those of Litecoin Core's chainparams (main).
 * bitcoin-testnet covers testnet3, testnet4 and signet, which share their prefixes.
 */
export type UtxoNetwork = Exclude<Network, 'ethereum'>;

export interface UtxoChain {
  readonly network: UtxoNetwork;
  readonly bech32Hrp: string;
  readonly pubKeyHashVersion: number;
  readonly scriptHashVersion: number;
}

export const UTXO_CHAINS: Readonly<Record<UtxoNetwork, UtxoChain>> = Object.freeze({
  bitcoin: Object.freeze({
    network: 'bitcoin',
    bech32Hrp: networks.bitcoin.bech32,
    pubKeyHashVersion: networks.bitcoin.pubKeyHash,
    scriptHashVersion: networks.bitcoin.scriptHash,
  }),
  'bitcoin-testnet': Object.freeze({
    network: 'bitcoin-testnet',
    bech32Hrp: networks.testnet.bech32,
    pubKeyHashVersion: networks.testnet.pubKeyHash,
    scriptHashVersion: networks.testnet.scriptHash,
  }),
  litecoin: Object.freeze({
    network: 'litecoin',
    bech32Hrp: 'ltc',
    pubKeyHashVersion: 0x30,
    scriptHashVersion: 0x32,
  }),
});

/**
 * Litecoin once shared Bitcoin's P2SH version byte (0x05, "3..." addresses). Such an address
 * cannot be told from a Bitcoin one, so a user who pastes a Bitcoin address on Litecoin would pay
 * it; we refuse it and ask for the "M..." form.
 */
export const LITECOIN_LEGACY_SCRIPT_HASH_VERSION = 0x05;

/** Prefixes of chains we do not pay out on, named so the refusal says what the address is. */
export const FOREIGN_BECH32_HRPS: Readonly<Record<string, string>> = Object.freeze({
  bcrt: 'bitcoin regtest',
  tltc: 'litecoin testnet',
  rltc: 'litecoin regtest',
});

/** Base58 version bytes of private keys (WIF): pasted by mistake, they must never pass for an address. */
export const WIF_VERSIONS: ReadonlySet<number> = new Set([
  networks.bitcoin.wif,
  networks.testnet.wif,
  0xb0, // litecoin
]);

export function utxoChainByHrp(hrp: string): UtxoChain | undefined {
  return Object.values(UTXO_CHAINS).find((chain) => chain.bech32Hrp === hrp);
}

export function utxoChainByVersion(version: number): UtxoChain | undefined {
  return Object.values(UTXO_CHAINS).find(
    (chain) => chain.pubKeyHashVersion === version || chain.scriptHashVersion === version,
  );
}
