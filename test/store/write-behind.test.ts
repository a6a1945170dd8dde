import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inTransaction, writeBehind } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

// Writes behind (transaction.ts writeBehind) are sent without waiting for their answers: on PostgreSQL they leave
// with the transaction's next statement or its COMMIT. They must still mean what a transaction means: all or nothing,
// in order, and a failed one fails the transaction with its own error.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`writes behind on ${engine}`, () => {
    test('they commit with the transaction, in order, and later statements see them', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        const seen = await inTransaction(fresh.database, async (tx) => {
          await writeBehind(
            tx,
            tx.insertInto('rate_limits').values({ bucket: 'a', window_start: 'w', hits: 1 }),
          );
          await writeBehind(tx, tx.updateTable('rate_limits').set({ hits: 5 }).where('bucket', '=', 'a'));
          return tx.selectFrom('rate_limits').select('hits').where('bucket', '=', 'a').executeTakeFirst();
        });
        assert.equal(Number(seen?.hits), 5);
        // The last writes of a transaction go out with its COMMIT.
        await inTransaction(fresh.database, (tx) =>
          writeBehind(tx, tx.updateTable('rate_limits').set({ hits: 9 }).where('bucket', '=', 'a')),
        );
        const row = await fresh.database.db
          .selectFrom('rate_limits')
          .select('hits')
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.hits), 9);
      } finally {
        await fresh.drop();
      }
    });

    test('a failed write behind fails the transaction with its own error, and nothing of it stays', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        await fresh.database.db
          .insertInto('rate_limits')
          .values({ bucket: 'taken', window_start: 'w', hits: 1 })
          .execute();
        await assert.rejects(
          inTransaction(fresh.database, async (tx) => {
            await writeBehind(
              tx,
              tx.insertInto('rate_limits').values({ bucket: 'b', window_start: 'w', hits: 1 }),
            );
            // A duplicate key, sent last: on PostgreSQL its error comes back with the COMMIT.
            await writeBehind(
              tx,
              tx.insertInto('rate_limits').values({ bucket: 'taken', window_start: 'w', hits: 2 }),
            );
          }),
          (error: Error) => /unique|duplicate/i.test(error.message),
        );
        const rows = await fresh.database.db.selectFrom('rate_limits').select(['bucket', 'hits']).execute();
        assert.deepEqual(
          rows.map((r) => [r.bucket, Number(r.hits)]),
          [['taken', 1]],
        );
        // The connection is clean for the next transaction.
        await inTransaction(fresh.database, (tx) =>
          writeBehind(tx, tx.insertInto('rate_limits').values({ bucket: 'c', window_start: 'w', hits: 1 })),
        );
        assert.equal(
          (await fresh.database.db.selectFrom('rate_limits').select('bucket').execute()).length,
          2,
        );
      } finally {
        await fresh.drop();
      }
    });

    test('a failed write behind followed by a read fails the transaction too', async () => {
      const fresh = await freshDatabase(engine, { poolSize: 1 });
      try {
        await fresh.database.db
          .insertInto('rate_limits')
          .values({ bucket: 'taken', window_start: 'w', hits: 1 })
          .execute();
        await assert.rejects(
          inTransaction(fresh.database, async (tx) => {
            await writeBehind(
              tx,
              tx.insertInto('rate_limits').values({ bucket: 'taken', window_start: 'w', hits: 2 }),
            );
            await tx.selectFrom('rate_limits').select('hits').execute();
          }),
        );
        const rows = await fresh.database.db.selectFrom('rate_limits').select('hits').execute();
        assert.deepEqual(
          rows.map((r) => Number(r.hits)),
          [1],
        );
      } finally {
        await fresh.drop();
      }
    });
  });
}
