import { formatAmount, getAsset } from '../money/index.ts';
import type { Network } from '../networks.ts';

/** Network fees charged per withdrawal, in base units, per asset and network. Configurable at start. */
export type FeeSchedule = Readonly<Record<string, bigint>>;

export const DEFAULT_FEES: FeeSchedule = Object.freeze({
  'BTC/bitcoin': 10_000n, // 0.0001 BTC
  'BTC/bitcoin-testnet': 1_000n,
  'ETH/ethereum': 1_000_000_000_000_000n, // 0.001 ETH
  'USDC/ethereum': 1_000_000n, // 1 USDC
  'LTC/litecoin': 100_000n, // 0.001 LTC
});

export function feeFor(schedule: FeeSchedule, asset: string, network: Network): bigint | undefined {
  return schedule[`${asset}/${network}`];
}

function shorten(address: string): string {
  return address.length <= 16 ? address : `${address.slice(0, 8)}...${address.slice(-6)}`;
}

/** "Send 0.25 BTC to bc1qw508...v8f3t4 (Cold wallet), fee 0.0001 BTC": built only from server state. */
export function withdrawalSummary(input: {
  asset: string;
  amount: bigint;
  fee: bigint;
  destination: string;
  label: string;
}): string {
  const asset = getAsset(input.asset);
  return `Send ${formatAmount(input.amount, asset)} ${asset.code} to ${shorten(input.destination)} (${input.label}), fee ${input.fee === 0n ? '0' : formatAmount(input.fee, asset)} ${asset.code}`;
}
