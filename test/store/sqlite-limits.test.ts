import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../support/engines.ts';

// SQLite runs a statement with its `limit ?` and `offset ?` values written in (sqlite-bounds.ts): the rows that come
// back must be exactly those the bound values ask for, whatever they are and wherever they sit.
test('SQLite: a bound LIMIT returns what it asks for, for each limit, after the statement is cached', async () => {
  const fresh = await freshDatabase('sqlite');
  try {
    const { db } = fresh.database;
    await db
      .insertInto('rate_limits')
      .values(Array.from({ length: 5 }, (_, i) => ({ bucket: `b${i}`, window_start: 'w', hits: i })))
      .execute();
    const first = (limit: number | bigint) =>
      db.selectFrom('rate_limits').select('bucket').orderBy('bucket').limit(limit).execute();
    for (const round of [1, 2]) {
      for (const [limit, expected] of [
        [2, ['b0', 'b1']],
        [0, []],
        [10, ['b0', 'b1', 'b2', 'b3', 'b4']],
        [2n, ['b0', 'b1']],
        [1, ['b0']],
      ] as const) {
        const rows = await first(limit);
        assert.deepEqual(
          rows.map((r) => r.bucket),
          expected,
          `limit ${limit} (round ${round})`,
        );
      }
    }
    // In a subquery, and an offset beside a limit.
    for (const round of [1, 2]) {
      for (const [limit, offset, expected] of [
        [2, 0, 2],
        [2, 4, 1],
        [10, 1, 4],
        [0, 0, 0],
        [3, 2, 3],
      ] as const) {
        const row = await db
          .selectFrom(
            db
              .selectFrom('rate_limits')
              .select('bucket')
              .orderBy('bucket')
              .limit(limit)
              .offset(offset)
              .as('t'),
          )
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.n), expected, `limit ${limit} offset ${offset} (round ${round})`);
      }
    }
    // Only a LIMIT's or an OFFSET's value is written in: a bound value elsewhere in the statement is left alone.
    const hits = await db
      .selectFrom('rate_limits')
      .select('hits')
      .where('hits', '>=', 3)
      .orderBy('hits')
      .execute();
    assert.deepEqual(
      hits.map((r) => Number(r.hits)),
      [3, 4],
    );
  } finally {
    await fresh.drop();
  }
});
