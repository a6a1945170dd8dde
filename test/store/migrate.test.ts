import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`migrations on ${engine}`, () => {
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
