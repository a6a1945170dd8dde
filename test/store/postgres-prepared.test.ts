import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

const postgres = (await eachEngine()).find((e) => e.engine === 'postgres');

describe('PostgreSQL statements prepared once per connection', {
  skip: postgres === undefined ? 'PostgreSQL is not among the engines here' : postgres.skip,
}, () => {
  test('data statements with a column list are prepared; select * survives another process adding a column', async () => {
    const fresh = await freshDatabase('postgres', { poolSize: 1 });
    try {
      const db = fresh.database.db;
      await sql`create table gadgets (id text primary key, label text not null)`.execute(db);
      await sql`insert into gadgets (id, label) values (${'g1'}, ${'first'})`.execute(db);
      const byColumns = () =>
        sql<{ label: string }>`select label from gadgets where id = ${'g1'}`.execute(db);
      const byStar = () => sql<Record<string, unknown>>`select * from gadgets where id = ${'g1'}`.execute(db);
      await byColumns();
      await byStar();
      const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
        db,
      );
      const texts = prepared.rows.map((row) => row.statement);
      assert.ok(
        texts.some((text) => text.startsWith('select label from gadgets')),
        'the column-list statement is prepared',
      );
      assert.ok(
        !texts.some((text) => text.startsWith('select * from gadgets')),
        'select * is never prepared',
      );

      // A rolling deploy: another process migrates while this one keeps its connections.
      const other = new pg.Client({ connectionString: fresh.env.DATABASE_URL });
      await other.connect();
      await other.query('alter table gadgets add column colour text');
      await other.end();
      assert.deepEqual((await byColumns()).rows, [{ label: 'first' }]);
      assert.deepEqual((await byStar()).rows, [{ id: 'g1', label: 'first', colour: null }]);
    } finally {
      await fresh.drop();
    }
  });
});
