import type { PriceSource } from '../adapters/prices/simulated-prices.ts';
import { recordPrice } from '../store/prices.ts';
import type { ServiceContext } from './context.ts';

/**
 * Records what the price source quotes now, one point per asset. A source that fails records nothing: the price
 * ages, and once it is stale every withdrawal that needs it is held (the rule fails closed), never waved through.
 */
export async function refreshPrices(context: ServiceContext, source: PriceSource): Promise<number> {
  const quotes = await source.quotes();
  const at = context.clock.now();
  for (const quote of quotes) {
    await recordPrice(context.database, {
      asset: quote.asset,
      at,
      usdPrice: quote.usdPrice,
      source: source.name,
    });
  }
  return quotes.length;
}
