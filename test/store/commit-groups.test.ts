import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { type Database, openDatabase } from '../../src/store/database.ts';
import { committed, inTransaction } from '../../src/store/transaction.ts';

async function withSqlite(work: (database: Database, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-groups-'));
  const path = join(dir, 'drawbridge.db');
  const database = openDatabase({ engine: 'sqlite', path });
  try {
    await sql`create table notes (id integer primary key, body text not null)`.execute(database.db);
    await work(database, path);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SQLite transactions committed in groups', () => {
  test('40 concurrent transactions, one failing: each is atomic alone, and each is on disk when its caller hears done', async () => {
    await withSqlite(async (database, path) => {
      // Another connection, as another process would read the file: it sees only what is committed.
      const outside = new SQLite(path, { readonly: true });
      try {
        const seenAtDone: boolean[] = [];
        const outcomes = await Promise.allSettled(
          Array.from({ length: 40 }, (_, i) =>
            inTransaction(database, async (tx) => {
              await sql`insert into notes (id, body) values (${i * 2}, 'first half')`.execute(tx);
              await sql`insert into notes (id, body) values (${i * 2 + 1}, 'second half')`.execute(tx);
              if (i === 17) throw new Error('transaction 17 fails after both its writes');
              return i;
            }).then((i) => {
              const row = outside
                .prepare('select count(*) as n from notes where id in (?, ?)')
                .get(i * 2, i * 2 + 1);
              seenAtDone.push((row as { n: number }).n === 2);
              return i;
            }),
          ),
        );
        assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1);
        assert.ok(seenAtDone.every(Boolean), 'a caller heard done before its rows were committed');
        const ids = (outside.prepare('select id from notes order by id').all() as { id: number }[]).map(
          (r) => r.id,
        );
        assert.equal(ids.length, 78);
        assert.ok(!ids.includes(34) && !ids.includes(35), 'the failed transaction left half its writes');
      } finally {
        outside.close();
      }
    });
  });

  test('a statement that ends the whole transaction (disk full) fails its group, and the next transaction starts a new one', async () => {
    await withSqlite(async (database, path) => {
      const outside = new SQLite(path, { readonly: true });
      try {
        const pages = outside.pragma('page_count', { simple: true }) as number;
        await sql.raw(`pragma max_page_count = ${pages + 3}`).execute(database.db);
        const outcomes = await Promise.allSettled([
          inTransaction(database, (tx) => sql`insert into notes (id, body) values (10, 'early')`.execute(tx)),
          inTransaction(database, (tx) =>
            sql`insert into notes (id, body) values (11, ${'x'.repeat(200_000)})`.execute(tx),
          ),
          inTransaction(database, (tx) => sql`insert into notes (id, body) values (12, 'late')`.execute(tx)),
        ]);
        assert.deepEqual(
          outcomes.map((o) => (o.status === 'rejected' ? String(o.reason?.message) : 'ok')),
          ['database or disk is full', 'database or disk is full', 'ok'],
          'the failed unit reports its own error; its group fails with it; the next unit commits alone',
        );
        const ids = (outside.prepare('select id from notes order by id').all() as { id: number }[]).map(
          (r) => r.id,
        );
        assert.deepEqual(ids, [12], 'nothing of a failed group, all of the one that succeeded');
      } finally {
        outside.close();
      }
    });
  });

  test('a lone statement run through committed() is on disk when it returns, even while a group is open', async () => {
    await withSqlite(async (database, path) => {
      const outside = new SQLite(path, { readonly: true });
      try {
        const unit = inTransaction(database, (tx) =>
          sql`insert into notes (id, body) values (1, 'unit')`.execute(tx),
        );
        await committed(database, (db) =>
          sql`insert into notes (id, body) values (2, 'counter')`.execute(db),
        );
        const row = outside.prepare('select count(*) as n from notes where id = 2').get() as { n: number };
        assert.equal(row.n, 1, 'acknowledged before its COMMIT');
        await unit;
      } finally {
        outside.close();
      }
    });
  });

  test('a COMMIT that fails fails every transaction of its group: nobody was told done', async () => {
    await withSqlite(async (database) => {
      // A deferred foreign key is checked at COMMIT: the one way to make a COMMIT itself fail on demand.
      await sql`create table parents (id integer primary key)`.execute(database.db);
      await sql`create table children (id integer primary key, parent_id integer not null
        references parents (id) deferrable initially deferred)`.execute(database.db);
      const outcomes = await Promise.allSettled([
        inTransaction(database, (tx) => sql`insert into notes (id, body) values (1, 'innocent')`.execute(tx)),
        inTransaction(database, (tx) =>
          sql`insert into children (id, parent_id) values (1, 999)`.execute(tx),
        ),
        inTransaction(database, (tx) =>
          sql`insert into notes (id, body) values (2, 'innocent too')`.execute(tx),
        ),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected', 'rejected'],
      );
      const notes = await sql<{ n: number }>`select count(*) as n from notes`.execute(database.db);
      assert.equal(notes.rows[0]!.n, 0);
      // The next transaction starts a fresh group and commits.
      await inTransaction(database, (tx) =>
        sql`insert into notes (id, body) values (3, 'after')`.execute(tx),
      );
      const after = await sql<{ n: number }>`select count(*) as n from notes`.execute(database.db);
      assert.equal(after.rows[0]!.n, 1);
    });
  });
});

test('closing the database right after plain statements joined an open group commits them, not rolls them back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-groups-'));
  const path = join(dir, 'drawbridge.db');
  try {
    const database = openDatabase({ engine: 'sqlite', path });
    await sql`create table notes (id integer primary key, body text not null)`.execute(database.db);
    const unit = inTransaction(database, (tx) =>
      sql`insert into notes (id, body) values (1, 'unit')`.execute(tx),
    );
    // Runs inside the group the transaction above opened; nobody awaits a COMMIT for it.
    await sql`insert into notes (id, body) values (2, 'plain')`.execute(database.db);
    // Shutting down at once: the group's COMMIT has not run yet.
    await database.close();
    await unit;
    const reopened = new SQLite(path, { readonly: true });
    const ids = (reopened.prepare('select id from notes order by id').all() as { id: number }[]).map(
      (r) => r.id,
    );
    reopened.close();
    assert.deepEqual(ids, [1, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
