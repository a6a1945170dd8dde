/**
 * The chains Drawbridge knows. `bitcoin-testnet` exists so mainnet and testnet addresses are told
 * apart; Litecoin is the fourth chain (a second UTXO chain with its own address prefixes).
 */
export const NETWORKS = ['bitcoin', 'bitcoin-testnet', 'ethereum', 'litecoin'] as const;

export type Network = (typeof NETWORKS)[number];

export function isNetwork(value: string): value is Network {
  return (NETWORKS as readonly string[]).includes(value);
}
