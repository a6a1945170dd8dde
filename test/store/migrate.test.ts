import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { freshDatabase, testEngines } from '../support/engines.ts';

for (const { engine, skip } of await testEngines()) {
  describe(`migrations on ${engine}`, { skip }, () => {
    test('a second run applies nothing and the schema is there', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const again = await migrateToLatest(fresh.database);
        assert.deepEqual(again.applied, []);
        const rows = await fresh.database.db.selectFrom('ledger_accounts').selectAll().execute();
        assert.deepEqual(rows, []);
      } finally {
        await fresh.drop();
      }
    });
  });
}
