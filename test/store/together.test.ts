import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { inTransaction, together } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

// `together` sends independent statements of a transaction as one round trip (PostgreSQL pipelines them);
// PostgreSQL transactions send BEGIN without waiting for it. Neither may change what a transaction means.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`statements together on ${engine}`, () => {
    test('run in the order given, each seeing the ones before it, results in order', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        const { db } = fresh.database;
        const [inserted, counted, updated] = await inTransaction(fresh.database, (tx) =>
          together(
            tx,
            tx.insertInto('rate_limits').values({ bucket: 'a', window_start: 'w', hits: 1 }),
            tx.selectFrom('rate_limits').select('hits').where('bucket', '=', 'a'),
            tx.updateTable('rate_limits').set({ hits: 7 }).where('bucket', '=', 'a'),
          ),
        );
        assert.equal(inserted.numAffectedRows, 1n);
        assert.deepEqual(
          counted.rows.map((r) => Number(r.hits)),
          [1],
        );
        assert.equal(updated.numAffectedRows, 1n);
        const row = await db.selectFrom('rate_limits').select('hits').executeTakeFirstOrThrow();
        assert.equal(Number(row.hits), 7);
      } finally {
        await fresh.drop();
      }
    });

    test('one failing statement fails the transaction: nothing before or after it stays, the connection is clean', async () => {
      // One connection, so the next transaction runs on the very connection that failed.
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        const { db } = fresh.database;
        await assert.rejects(
          inTransaction(fresh.database, (tx) =>
            together(
              tx,
              tx.insertInto('rate_limits').values({ bucket: 'before', window_start: 'w', hits: 1 }),
              tx.insertInto('rate_limits').values({ bucket: 'before', window_start: 'w', hits: 2 }),
              tx.insertInto('rate_limits').values({ bucket: 'after', window_start: 'w', hits: 1 }),
            ),
          ),
        );
        assert.equal((await db.selectFrom('rate_limits').selectAll().execute()).length, 0);
        await inTransaction(fresh.database, (tx) =>
          together(tx, tx.insertInto('rate_limits').values({ bucket: 'next', window_start: 'w', hits: 1 })),
        );
        const buckets = await db.selectFrom('rate_limits').select('bucket').execute();
        assert.deepEqual(
          buckets.map((b) => b.bucket),
          ['next'],
        );
      } finally {
        await fresh.drop();
      }
    });

    test('transactions on one connection stay whole: a first statement that fails, an empty body, 20 at once', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        const { db } = fresh.database;
        // The first statement fails right behind a BEGIN that was not waited for.
        await assert.rejects(
          inTransaction(fresh.database, (tx) => sql`select * from no_such_table`.execute(tx)),
        );
        assert.equal(await inTransaction(fresh.database, async () => 'nothing'), 'nothing');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            inTransaction(fresh.database, async (tx) => {
              await tx
                .insertInto('rate_limits')
                .values({ bucket: `b${i}`, window_start: '1', hits: 1 })
                .execute();
              if (i % 5 === 0) throw new Error(`transaction ${i} fails after its first write`);
              await tx
                .insertInto('rate_limits')
                .values({ bucket: `b${i}`, window_start: '2', hits: 1 })
                .execute();
            }),
          ),
        );
        assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 4);
        const rows = await db.selectFrom('rate_limits').select('bucket').execute();
        const perBucket = new Map<string, number>();
        for (const { bucket } of rows) perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1);
        assert.equal(perBucket.size, 16);
        for (const [bucket, count] of perBucket) {
          assert.equal(count, 2, `${bucket} kept half a transaction`);
          assert.notEqual(Number(bucket.slice(1)) % 5, 0);
        }
      } finally {
        await fresh.drop();
      }
    });
  });
}
