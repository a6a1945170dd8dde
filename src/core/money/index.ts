export { formatAmount, MAX_AMOUNT, type ParseAmountOptions, parseAmount, parseBaseUnits } from './amount.ts';
export {
  ASSET_CODES,
  type Asset,
  type AssetCode,
  assetOnNetwork,
  type Carrier,
  getAsset,
  isAssetCode,
  listAssets,
  MAX_ASSET_DECIMALS,
} from './assets.ts';
export { MAX_DECIMAL_TEXT_LENGTH } from './decimal-text.ts';
export {
  addUsd,
  compareUsd,
  type FormatUsdOptions,
  formatUsd,
  formatUsdExact,
  MAX_USD_INPUT,
  type ParseUsdOptions,
  parseUsd,
  parseUsdPrice,
  subtractUsd,
  USD_INPUT_PLACES,
  USD_SCALE,
  USD_ZERO,
  type Usd,
  type UsdRounding,
  usdFromWholeDollars,
  usdValue,
} from './usd.ts';
