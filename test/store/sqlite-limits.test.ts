import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../support/engines.ts';

// SQLite runs `... limit ?` as the statement with the number written in (database.ts literalLimit): the rows that
// come back must be exactly those the bound limit asks for, whatever the limit.
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
    // A limit is only the closing `limit ?`: a bound value elsewhere in the statement is left alone.
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
