import type { PriceSource } from '../adapters/prices/simulated-prices.ts';
import type { ServiceContext } from '../services/context.ts';
import { refreshPrices } from '../services/prices.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/** Asks the price source at start and then every `interval_ms`. */
export function startPriceRefresher(
  context: ServiceContext,
  source: PriceSource,
  options: { interval_ms: number; onError: (error: unknown) => void },
): PollLoop {
  return startPollLoop({
    name: 'price-refresher',
    interval_ms: options.interval_ms,
    onError: options.onError,
    tick: () => refreshPrices(context, source),
  });
}
