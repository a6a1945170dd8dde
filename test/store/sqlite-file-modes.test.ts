import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

test("the embedded data directory and the SQLite files are the owner's only (0700, 0600), whatever the umask", async () => {
  const root = mkdtempSync(join(tmpdir(), 'drawbridge-modes-'));
  const previous = process.umask(0o022);
  try {
    const dataDir = join(root, 'data');
    const path = join(dataDir, 'drawbridge.db');
    const database = openDatabase({ engine: 'sqlite', path });
    await migrateToLatest(database);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`])
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    await database.close();
  } finally {
    process.umask(previous);
    rmSync(root, { recursive: true, force: true });
  }
});
