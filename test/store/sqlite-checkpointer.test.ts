import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/database.ts';

const PAGE = 4096;

async function walAfterWrites(backgroundCheckpoints: boolean): Promise<{ wal: number; written: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-wal-'));
  const path = join(dir, 'drawbridge.db');
  const database = openDatabase({ engine: 'sqlite', path, backgroundCheckpoints });
  try {
    // The same safety net on both, so only the thread can keep the WAL short.
    await sql`pragma wal_autocheckpoint = 20000`.execute(database.db);
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(database.db);
    let written = 0;
    // 8 bursts of 100 one-page rows, each followed by a pause of almost three checkpointer intervals (slack for
    // a loaded CI machine).
    for (let burst = 0; burst < 8; burst += 1) {
      for (let row = 0; row < 100; row += 1) {
        await sql`insert into blobs (body) values (randomblob(${PAGE - 100}))`.execute(database.db);
        written += PAGE;
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    return { wal: statSync(`${path}-wal`).size, written };
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the server checkpoints SQLite on its own thread: the WAL is reused instead of growing with every write', async () => {
  // Without the thread the WAL grows through all eight bursts; with it, each pause lets the thread checkpoint,
  // and the next burst starts the WAL over from its beginning.
  const without = await walAfterWrites(false);
  const withThread = await walAfterWrites(true);
  assert.ok(
    withThread.wal < without.wal / 2,
    `WAL ${withThread.wal} bytes with the checkpoint thread vs ${without.wal} without: not checkpointed`,
  );
});
