import { ASSET_CODES } from '../../core/money/assets.ts';
import type { PriceQuote, PriceSource } from './simulated-prices.ts';

const MAX_BODY_BYTES = 64 * 1024;
const DECIMAL = /^(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$/;

/**
 * A price ticker over HTTP: GET `url` answers a JSON object of USD prices per asset, each a decimal string
 * (`{"BTC": "60123.45", "ETH": "3012.5"}`). A number is refused (money is never a float here), as is an answer
 * that is slow (5 s), large (64 KiB), not JSON or not 200: the source then gives nothing, the last prices age, and
 * a stale price holds withdrawals (fail closed). Assets the ticker does not name are simply not quoted.
 */
export class HttpJsonPriceSource implements PriceSource {
  readonly name: string;
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: { url: string; timeoutMs?: number }) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.name = `http:${new URL(options.url).host}`;
  }

  async quotes(): Promise<readonly PriceQuote[]> {
    const response = await fetch(this.#url, {
      signal: AbortSignal.timeout(this.#timeoutMs),
      headers: { accept: 'application/json' },
      redirect: 'error',
    });
    if (response.status !== 200) throw new Error(`price source answered ${response.status}`);
    const text = await response.text();
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new Error('price source answer is over 64 KiB');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('price source answer is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error('price source answer is not an object of prices');
    }
    const quotes: PriceQuote[] = [];
    const problems: string[] = [];
    for (const asset of ASSET_CODES) {
      const value = (body as Record<string, unknown>)[asset];
      if (value === undefined) continue;
      if (typeof value !== 'string' || !DECIMAL.test(value) || /^0(\.0+)?$/.test(value)) {
        problems.push(`${asset} is not a positive decimal string`);
        continue;
      }
      quotes.push({ asset, usdPrice: value });
    }
    if (problems.length > 0 && quotes.length === 0) throw new Error(`price source: ${problems.join('; ')}`);
    return quotes;
  }
}
