import { assert, invalidInput } from '../errors.ts';
import { isNetwork, type Network } from '../networks.ts';

/**
 * The assets Drawbridge moves, as frozen data. An asset's decimals fix what one base unit is
 * (satoshi, wei, micro-USDC); a withdrawal names the asset and the network, and the pair must be
 * one listed here, so "USDC on bitcoin" or "BTC on ethereum" cannot even be asked for.
 */
export const ASSET_CODES = ['BTC', 'ETH', 'USDC', 'LTC'] as const;

export type AssetCode = (typeof ASSET_CODES)[number];

/** How an asset is carried on one network: the chain's own coin, or an ERC-20 contract. */
export type Carrier =
  | { readonly network: Network; readonly standard: 'native' }
  | { readonly network: Network; readonly standard: 'erc20'; readonly contract: `0x${string}` };

export interface Asset {
  readonly code: AssetCode;
  readonly name: string;
  /** Base units per whole coin are 10^decimals. */
  readonly decimals: number;
  readonly carriers: readonly Carrier[];
}

/** USD valuation keeps every digit only while decimals stay within this bound (see usd.ts). */
export const MAX_ASSET_DECIMALS = 18;

function defineAsset(asset: Asset): Asset {
  assert(Number.isInteger(asset.decimals), `${asset.code} decimals must be an integer`);
  assert(asset.decimals >= 0 && asset.decimals <= MAX_ASSET_DECIMALS, `${asset.code} decimals out of range`);
  assert(asset.carriers.length > 0, `${asset.code} must be carried on some network`);
  const networks = new Set(asset.carriers.map((carrier) => carrier.network));
  assert(networks.size === asset.carriers.length, `${asset.code} lists a network twice`);
  return Object.freeze({ ...asset, carriers: Object.freeze(asset.carriers.map((c) => Object.freeze(c))) });
}

const ASSETS: Readonly<Record<AssetCode, Asset>> = Object.freeze({
  BTC: defineAsset({
    code: 'BTC',
    name: 'Bitcoin',
    decimals: 8,
    carriers: [
      { network: 'bitcoin', standard: 'native' },
      { network: 'bitcoin-testnet', standard: 'native' },
    ],
  }),
  ETH: defineAsset({
    code: 'ETH',
    name: 'Ether',
    decimals: 18,
    carriers: [{ network: 'ethereum', standard: 'native' }],
  }),
  USDC: defineAsset({
    code: 'USDC',
    name: 'USD Coin',
    decimals: 6,
    carriers: [
      { network: 'ethereum', standard: 'erc20', contract: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' },
    ],
  }),
  LTC: defineAsset({
    code: 'LTC',
    name: 'Litecoin',
    decimals: 8,
    carriers: [{ network: 'litecoin', standard: 'native' }],
  }),
});

const LIST: readonly Asset[] = Object.freeze(ASSET_CODES.map((code) => ASSETS[code]));

export function isAssetCode(value: unknown): value is AssetCode {
  return typeof value === 'string' && (ASSET_CODES as readonly string[]).includes(value);
}

/** Codes are exact: "btc" is refused rather than guessed at. */
export function getAsset(code: string): Asset {
  if (!isAssetCode(code)) {
    throw invalidInput('asset', `unknown asset ${quote(code)}; known assets are ${ASSET_CODES.join(', ')}`);
  }
  return ASSETS[code];
}

export function assetOnNetwork(code: string, network: string): Carrier {
  const asset = getAsset(code);
  if (!isNetwork(network)) throw invalidInput('network', `unknown network ${quote(network)}`);
  const carrier = asset.carriers.find((c) => c.network === network);
  if (carrier === undefined) throw invalidInput('network', `${asset.code} is not carried on ${network}`);
  return carrier;
}

export function listAssets(): readonly Asset[] {
  return LIST;
}

// Echo at most a short prefix of what the caller sent: a message must not carry a megabyte back.
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}...` : text);
}
