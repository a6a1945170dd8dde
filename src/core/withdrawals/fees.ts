import { DomainError, invalidInput } from '../errors.ts';
import { assetOnNetwork, formatAmount, getAsset, parseAmount } from '../money/index.ts';
import type { Network } from '../networks.ts';

/**
 * Network fees charged per withdrawal, in base units, keyed `ASSET/network`; a pair without a fee is not offered.
 * Configurable at start (WITHDRAWAL_FEES).
 */
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

/**
 * A fee table as configured: `ASSET:network=fee` entries separated by commas, each fee in the asset's decimal unit
 * ("BTC:bitcoin=0.0001,ETH:ethereum=0.001"), parsed exactly to base units. Only the pairs listed are offered. An
 * unknown asset or network, a pair that does not exist, a fee that is not a plain decimal (or has more decimals
 * than the asset), an entry given twice: refused with `field` and the entry named.
 */
export function parseFeeSchedule(text: string, field: string): FeeSchedule {
  const schedule: Record<string, bigint> = {};
  for (const part of text.split(',')) {
    const entry = part.trim();
    const match = /^([^:=\s]+):([^:=\s]+)=(\S*)$/.exec(entry);
    if (match === null) {
      throw invalidInput(field, `entry ${quote(entry)} is not ASSET:network=fee (e.g. BTC:bitcoin=0.0001)`);
    }
    const [, code = '', network = '', amount = ''] = match;
    let fee: bigint;
    try {
      assetOnNetwork(code, network);
      fee = parseAmount(amount, getAsset(code), { allowZero: true, field });
    } catch (error) {
      if (error instanceof DomainError) throw invalidInput(field, `entry ${quote(entry)}: ${error.message}`);
      throw error;
    }
    const key = `${code}/${network}`;
    if (Object.hasOwn(schedule, key)) throw invalidInput(field, `lists ${code} on ${network} twice`);
    schedule[key] = fee;
  }
  return Object.freeze(schedule);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}...` : text);
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
