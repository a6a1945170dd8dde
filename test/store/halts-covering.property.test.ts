import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { haltCovers } from '../../src/core/halts/halt-scope.ts';
import { coveringHalt, type HaltRow } from '../../src/store/halts.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';

const ASSETS = ['BTC', 'ETH', 'USDC'] as const;
const NETWORKS = ['bitcoin', 'bitcoin-testnet', 'ethereum'] as const;
const ACCOUNTS = ['acct-1', 'acct-2', 'acct-3'] as const;

const haltArb = fc.oneof(
  fc.record({
    scope: fc.constant('global' as const),
    asset: fc.constant(null),
    network: fc.constant(null),
    account_id: fc.constant(null),
  }),
  fc.record({
    scope: fc.constant('asset' as const),
    asset: fc.constantFrom(...ASSETS),
    network: fc.option(fc.constantFrom(...NETWORKS), { nil: null }),
    account_id: fc.constant(null),
  }),
  fc.record({
    scope: fc.constant('account' as const),
    asset: fc.constant(null),
    network: fc.constant(null),
    account_id: fc.constantFrom(...ACCOUNTS),
  }),
);
const targetArb = fc.record({
  asset: fc.constantFrom(...ASSETS),
  network: fc.constantFrom(...NETWORKS),
  accountId: fc.constantFrom(...ACCOUNTS),
});

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the store's covering query is the core's covering rule, on ${engine}`, (on) => {
    const fresh = on.database();

    test('for any set of active and lifted halts and any withdrawal, SQL finds a halt exactly when haltCovers says one covers', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ halt: haltArb, lifted: fc.boolean() }), { maxLength: 8 }),
          targetArb,
          async (halts, target) => {
            run += 1;
            const rows: HaltRow[] = halts.map(({ halt, lifted }, i) => ({
              id: `h-${run}-${i}`,
              ...halt,
              reason: 'property',
              created_by: 'test',
              created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
              lifted_at: lifted ? '2026-01-02T00:00:00.000Z' : null,
              lifted_by: lifted ? 'test' : null,
            }));
            // Halts are never deleted and are inserted active (migration 0045): the last run's are lifted, these
            // inserted active, and those the run wants lifted lifted.
            const db = fresh.database.db;
            const lift = { lifted_at: '2026-01-02T00:00:00.000Z', lifted_by: 'test' };
            await db.updateTable('halts').set(lift).where('lifted_at', 'is', null).execute();
            if (rows.length > 0)
              await db
                .insertInto('halts')
                .values(rows.map((row) => ({ ...row, lifted_at: null, lifted_by: null })))
                .execute();
            const lifted = rows.filter((row) => row.lifted_at !== null).map((row) => row.id);
            if (lifted.length > 0)
              await db.updateTable('halts').set(lift).where('id', 'in', lifted).execute();
            const found = await inTransaction(fresh.database, (tx) =>
              coveringHalt(fresh.database, tx, target),
            );
            const expected = rows.filter((row) => row.lifted_at === null && haltCovers(row, target));
            assert.equal(found !== undefined, expected.length > 0);
            if (found !== undefined) assert.ok(expected.some((row) => row.id === found.id));
          },
        ),
        { numRuns: 150 },
      );
    });
  });
}
