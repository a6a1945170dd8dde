import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { HttpJsonPriceSource } from '../../../src/adapters/prices/http-json-prices.ts';
import { loadConfig } from '../../../src/config.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { refreshPrices } from '../../../src/services/prices.ts';
import { priceAt } from '../../../src/store/prices.ts';
import { eachEngine } from '../../support/each-engine.ts';

let server: Server;
let base: string;
let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '{}' };

before(async () => {
  server = createServer((_request, response) => {
    const send = () =>
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    if (answer.delayMs === undefined) send();
    else setTimeout(send, answer.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ticker`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a JSON ticker of decimal strings gives one quote per known asset; unknown ones are ignored', async () => {
  answer = { status: 200, body: '{"BTC": "60123.45", "ETH": "3012.5", "DOGE": "0.1"}' };
  const quotes = await new HttpJsonPriceSource({ url: base }).quotes();
  assert.deepEqual(quotes, [
    { asset: 'BTC', usdPrice: '60123.45' },
    { asset: 'ETH', usdPrice: '3012.5' },
  ]);
});

test('anything else gives nothing: a float, a zero, a 500, not JSON, too slow (the prices then age and hold)', async () => {
  const source = new HttpJsonPriceSource({ url: base, timeoutMs: 300 });
  for (const [given, reason] of [
    [{ status: 200, body: '{"BTC": 60123.45}' }, /not a positive decimal string/],
    [{ status: 200, body: '{"BTC": "0"}' }, /not a positive decimal string/],
    [{ status: 200, body: '{"BTC": "1e5"}' }, /not a positive decimal string/],
    [{ status: 500, body: '{}' }, /answered 500/],
    [{ status: 200, body: '<html>' }, /not JSON/],
    [{ status: 200, body: '["BTC"]' }, /not an object/],
    [{ status: 200, body: '{"BTC": "1"}', delayMs: 1000 }, /abort|timeout/i],
  ] as const) {
    answer = given;
    await assert.rejects(source.quotes(), reason, JSON.stringify(given));
  }
});

test('PRICE_SOURCE=http needs its URL, and the URL is only for http', () => {
  assert.deepEqual(
    loadConfig({ PRICE_SOURCE: 'http', PRICE_SOURCE_URL: 'http://127.0.0.1:9/t' }).priceSource,
    {
      kind: 'http',
      url: 'http://127.0.0.1:9/t',
    },
  );
  for (const env of [{ PRICE_SOURCE: 'http' }, { PRICE_SOURCE: 'none', PRICE_SOURCE_URL: 'http://x/' }]) {
    assert.throws(
      () => loadConfig(env),
      (error) => error instanceof DomainError && error.field === 'PRICE_SOURCE_URL',
    );
  }
});

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`prices from the ticker are recorded, on ${engine}`, (on) => {
    const running = on.app();
    test('each refresh records the quotes at the clock, named by their source', async () => {
      answer = { status: 200, body: '{"BTC": "61000.5"}' };
      const source = new HttpJsonPriceSource({ url: base });
      assert.equal(await refreshPrices(running.context, source), 1);
      const point = await priceAt(running.context.database, 'BTC', running.clock.now());
      assert.equal(point.source, `http:${new URL(base).host}`);
      assert.equal(point.at.toISOString(), running.clock.now().toISOString());
    });
  });
}
