import type { Clock } from '../../core/clock.ts';

/** One asset's USD price as a source quotes it: a decimal string, never a float. */
export interface PriceQuote {
  readonly asset: string;
  readonly usdPrice: string;
}

/** Where prices come from. An adapter only fetches; recording them (and failing closed on stale ones) is not its job. */
export interface PriceSource {
  readonly name: string;
  quotes(): Promise<readonly PriceQuote[]>;
}

/** Around these prices, in US cents. */
const BASE_CENTS: Readonly<Record<string, bigint>> = {
  BTC: 6_000_000n,
  ETH: 300_000n,
  USDC: 100n,
  LTC: 8_000n,
};

/**
 * The embedded default's prices: each asset moves up to ±2% around its base over the day (a smooth function of the
 * clock, the same on every node), stablecoins stay at 1. Enough that a demo left running keeps fresh prices and
 * shows them moving; never a market.
 */
export class SimulatedPriceSource implements PriceSource {
  readonly name = 'simulated';
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async quotes(): Promise<readonly PriceQuote[]> {
    const hours = this.#clock.now().getTime() / 3_600_000;
    return Object.entries(BASE_CENTS).map(([asset, cents], index) => {
      // A ratio in basis points (an integer), applied in bigint: the price itself is exact.
      const basisPoints = asset === 'USDC' ? 0 : Math.round(200 * Math.sin((hours + index * 5) / 3));
      const price = (cents * BigInt(10_000 + basisPoints)) / 10_000n;
      return { asset, usdPrice: `${price / 100n}.${(price % 100n).toString().padStart(2, '0')}` };
    });
  }
}
