import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../src/core/errors.ts';
import { parseAmount } from '../../src/core/money/amount.ts';
import { getAsset } from '../../src/core/money/assets.ts';
import { formatUsd, formatUsdExact } from '../../src/core/money/usd.ts';
import { priceAt, recordPrice, valueInUsd } from '../../src/store/prices.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

const HOUR_MS = 60 * 60 * 1000;
const T0 = new Date('2026-03-01T00:00:00.000Z');
const at = (offset_ms: number) => new Date(T0.getTime() + offset_ms);

function failsWith(code: string, field?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  };
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`price history on ${engine}`, () => {
    test('the price at T is the newest point at or before T', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        await recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'feed' });
        await recordPrice(database, {
          asset: 'BTC',
          at: at(2 * HOUR_MS),
          usdPrice: '62000.5',
          source: 'feed',
        });
        await recordPrice(database, { asset: 'BTC', at: at(4 * HOUR_MS), usdPrice: '64000', source: 'feed' });
        await recordPrice(database, { asset: 'ETH', at: at(3 * HOUR_MS), usdPrice: '3000', source: 'feed' });

        const price = (offset_ms: number) =>
          priceAt(database, 'BTC', at(offset_ms)).then((p) => formatUsdExact(p.usdPrice));
        assert.equal(await price(0), '60000');
        assert.equal(await price(2 * HOUR_MS - 1), '60000');
        assert.equal(await price(2 * HOUR_MS), '62000.5');
        assert.equal(await price(3 * HOUR_MS + 59 * 60 * 1000), '62000.5');
        assert.equal(await price(4 * HOUR_MS + 1), '64000');
        const point = await priceAt(database, 'BTC', at(3 * HOUR_MS));
        assert.deepEqual(point.at, at(2 * HOUR_MS));
        assert.equal(point.source, 'feed');
      } finally {
        await fresh.drop();
      }
    });

    test('a time before the first point fails closed', async () => {
      const fresh = await freshDatabase(engine);
      try {
        await recordPrice(fresh.database, {
          asset: 'ETH',
          at: at(HOUR_MS),
          usdPrice: '3000',
          source: 'feed',
        });
        await assert.rejects(priceAt(fresh.database, 'ETH', at(HOUR_MS - 1)), failsWith('PRICE_UNAVAILABLE'));
        await assert.rejects(
          valueInUsd(fresh.database, 'ETH', 1n, at(HOUR_MS - 1)),
          failsWith('PRICE_UNAVAILABLE'),
        );
      } finally {
        await fresh.drop();
      }
    });

    test('an asset with no history at all fails closed, even if others have prices', async () => {
      const fresh = await freshDatabase(engine);
      try {
        await recordPrice(fresh.database, { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'feed' });
        await assert.rejects(priceAt(fresh.database, 'LTC', at(0)), failsWith('PRICE_UNAVAILABLE'));
      } finally {
        await fresh.drop();
      }
    });

    test('a price older than the staleness limit fails closed', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        await recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'feed' });
        const atLimit = await priceAt(database, 'BTC', at(24 * HOUR_MS));
        assert.equal(formatUsdExact(atLimit.usdPrice), '60000');
        await assert.rejects(priceAt(database, 'BTC', at(24 * HOUR_MS + 1)), failsWith('PRICE_UNAVAILABLE'));
        await assert.rejects(
          priceAt(database, 'BTC', at(2 * HOUR_MS), { maxStaleness_ms: HOUR_MS }),
          failsWith('PRICE_UNAVAILABLE'),
        );
        await assert.rejects(
          valueInUsd(database, 'BTC', 1n, at(25 * HOUR_MS)),
          failsWith('PRICE_UNAVAILABLE'),
        );
      } finally {
        await fresh.drop();
      }
    });

    test('a staleness limit that is not a bounded whole number of ms is refused', async () => {
      const fresh = await freshDatabase(engine);
      try {
        for (const maxStaleness_ms of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 30 * 24 * HOUR_MS]) {
          await assert.rejects(
            priceAt(fresh.database, 'BTC', at(0), { maxStaleness_ms }),
            failsWith('INVALID_INPUT', 'maxStaleness_ms'),
          );
        }
      } finally {
        await fresh.drop();
      }
    });

    test('recording the same point twice is a no-op, even written differently', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        await recordPrice(database, { asset: 'USDC', at: at(0), usdPrice: '0.999812', source: 'feed' });
        await recordPrice(database, { asset: 'USDC', at: at(0), usdPrice: '0.9998120', source: 'feed' });
        const rows = await database.db.selectFrom('price_points').selectAll().execute();
        assert.deepEqual(rows, [
          { asset: 'USDC', at: '2026-03-01T00:00:00.000Z', usd_price: '0.999812', source: 'feed' },
        ]);
      } finally {
        await fresh.drop();
      }
    });

    test('a different price for the same asset and instant is a conflict and changes nothing', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        await recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'feed' });
        await assert.rejects(
          recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '1', source: 'feed' }),
          failsWith('CONFLICT'),
        );
        await assert.rejects(
          recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'other' }),
          failsWith('CONFLICT'),
        );
        assert.equal(formatUsdExact((await priceAt(database, 'BTC', at(0))).usdPrice), '60000');
      } finally {
        await fresh.drop();
      }
    });

    test('bad input is refused with the field at fault and records nothing', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        const good = { asset: 'BTC', at: at(0), usdPrice: '60000', source: 'feed' };
        const cases: [Partial<typeof good>, string][] = [
          [{ asset: 'DOGE' }, 'asset'],
          [{ usdPrice: '0' }, 'usdPrice'],
          [{ usdPrice: '-60000' }, 'usdPrice'],
          [{ usdPrice: '6e4' }, 'usdPrice'],
          [{ at: new Date(Number.NaN) }, 'at'],
          [{ at: new Date('+010000-01-01T00:00:00.000Z') }, 'at'],
          [{ source: '' }, 'source'],
          [{ source: 'x'.repeat(65) }, 'source'],
          [{ source: 'feed\nforged' }, 'source'],
        ];
        for (const [change, field] of cases) {
          await assert.rejects(
            recordPrice(database, { ...good, ...change }),
            failsWith('INVALID_INPUT', field),
          );
        }
        assert.deepEqual(await database.db.selectFrom('price_points').selectAll().execute(), []);
      } finally {
        await fresh.drop();
      }
    });

    test('valuation uses the price in force and says which one', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        await recordPrice(database, { asset: 'ETH', at: at(0), usdPrice: '1234567.89', source: 'feed' });
        const oneWei = await valueInUsd(database, 'ETH', 1n, at(HOUR_MS));
        assert.equal(formatUsdExact(oneWei.usd), '0.00000000000123456789');
        assert.deepEqual(oneWei.price.at, at(0));
        const btc = getAsset('BTC');
        await recordPrice(database, { asset: 'BTC', at: at(0), usdPrice: '64123.45', source: 'feed' });
        const half = await valueInUsd(database, 'BTC', parseAmount('0.5', btc), at(0));
        assert.equal(formatUsd(half.usd, { places: 2, rounding: 'half-even' }), '32061.72');
        assert.equal(formatUsdExact(half.usd), '32061.725');
      } finally {
        await fresh.drop();
      }
    });

    test('prices are recorded and read inside a caller transaction, and roll back with it', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const { database } = fresh;
        const seen = await inTransaction(database, async (tx) => {
          await recordPrice(tx, { asset: 'LTC', at: at(0), usdPrice: '85.1', source: 'feed' });
          return formatUsdExact((await priceAt(tx, 'LTC', at(0))).usdPrice);
        });
        assert.equal(seen, '85.1');
        await assert.rejects(
          inTransaction(database, async (tx) => {
            await recordPrice(tx, { asset: 'LTC', at: at(HOUR_MS), usdPrice: '90', source: 'feed' });
            throw new Error('the service failed after recording');
          }),
          /the service failed/,
        );
        assert.equal(formatUsdExact((await priceAt(database, 'LTC', at(HOUR_MS))).usdPrice), '85.1');
      } finally {
        await fresh.drop();
      }
    });
  });
}
