import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyPricesAt } from '../../src/store/incident-losses.ts';
import { MAX_PRICE_STALENESS_MS, recordPrice } from '../../src/store/prices.ts';
import { inReadSnapshot } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

const HOUR_MS = 60 * 60 * 1000;
const T0 = new Date('2026-03-01T00:00:00.000Z');
const at = (offset_ms: number) => new Date(T0.getTime() + offset_ms).toISOString();

/*
 * The losses' fallback price, read for a whole set of (asset, time) pairs at once (src/store/incident-losses.ts):
 * each pair gets the price in force at its time (the newest point at or before it, at most 7 days older) or none.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`price in force at each time, set-based, on ${engine}`, () => {
    test('each pair gets the newest point of its asset at or before its time, within the bound, or none', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        const point = (asset: string, offset_ms: number, usdPrice: string) =>
          recordPrice(database, { asset, at: new Date(at(offset_ms)), usdPrice, source: 'feed' });
        await point('BTC', 0, '60000');
        await point('BTC', 2 * HOUR_MS, '62000.5');
        await point('ETH', 3 * HOUR_MS, '3000');
        const bound = 2 * HOUR_MS + MAX_PRICE_STALENESS_MS;
        const wanted = [
          { asset: 'BTC', at: at(-1) }, // before any point: none
          { asset: 'BTC', at: at(0) }, // exactly at a point
          { asset: 'BTC', at: at(2 * HOUR_MS - 1) },
          { asset: 'BTC', at: at(2 * HOUR_MS - 1) }, // twice: one answer
          { asset: 'BTC', at: at(5 * HOUR_MS) },
          { asset: 'BTC', at: at(bound) }, // the newest point exactly 7 days older: still in force
          { asset: 'BTC', at: at(bound + 1) }, // older than that: none
          { asset: 'ETH', at: at(2 * HOUR_MS) }, // ETH's only point is later; BTC's is not ETH's
          { asset: 'LTC', at: at(5 * HOUR_MS) }, // no history at all
        ];
        const prices = await inReadSnapshot(database, (tx) => historyPricesAt(tx, wanted));
        const found = (asset: string, offset_ms: number) => prices.get(`${asset}\u0000${at(offset_ms)}`);
        assert.equal(prices.size, 4);
        assert.deepEqual(found('BTC', 0), { price: '60000', at: at(0) });
        assert.deepEqual(found('BTC', 2 * HOUR_MS - 1), { price: '60000', at: at(0) });
        assert.deepEqual(found('BTC', 5 * HOUR_MS), { price: '62000.5', at: at(2 * HOUR_MS) });
        assert.deepEqual(found('BTC', bound), { price: '62000.5', at: at(2 * HOUR_MS) });
        for (const [asset, offset] of [
          ['BTC', -1],
          ['BTC', bound + 1],
          ['ETH', 2 * HOUR_MS],
          ['LTC', 5 * HOUR_MS],
        ] as const)
          assert.equal(found(asset, offset), undefined, `${asset} at ${offset}`);
      } finally {
        await fresh.drop();
      }
    });

    test('more pairs than one statement carries: every one answered, each with its own price', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        for (let h = 0; h < 6; h++)
          await recordPrice(database, {
            asset: 'BTC',
            at: new Date(at(h * HOUR_MS)),
            usdPrice: String(60000 + h),
            source: 'feed',
          });
        // 5,000 distinct times over the 6 hours: more than one chunk of the read.
        const wanted = Array.from({ length: 5000 }, (_, i) => ({ asset: 'BTC', at: at(i * 4000) }));
        const prices = await inReadSnapshot(database, (tx) => historyPricesAt(tx, wanted));
        assert.equal(prices.size, 5000);
        for (const [i, w] of wanted.entries()) {
          const hour = Math.floor((i * 4000) / HOUR_MS);
          assert.equal(prices.get(`BTC\u0000${w.at}`)?.price, String(60000 + hour), w.at);
        }
      } finally {
        await fresh.drop();
      }
    });
  });
}
