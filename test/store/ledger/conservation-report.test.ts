import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachEngine } from '../../support/each-engine.ts';
import { ledgerWorld } from './ledger-world.ts';

// The monitor relies on this report to notice books edited behind the ledger's back.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`conservation report on ${engine}`, () => {
    test('a balance edited outside the ledger is named, with what the transfers say it should be', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, fresh } = world;
        await ledger.placeHold({
          id: 'h1',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 100n,
          code: 'withdrawal',
        });
        const clean = await ledger.conservationReport();
        assert.equal(clean.ok, true);
        assert.deepEqual(clean.assets, [
          { asset: 'BTC', postedDebitsMinusCredits: 0n, pendingDebits: 100n, pendingCredits: 100n },
        ]);

        await fresh.database.db
          .updateTable('ledger_accounts')
          .set({ posted_credits: '1000000', pending_credits: '7' })
          .where('id', 'in', [alice.id, custody.id])
          .execute();
        const report = await ledger.conservationReport();
        assert.equal(report.ok, false);
        const kinds = report.discrepancies.map((d) => d.kind).sort();
        assert.deepEqual(kinds, [
          'pending_not_balanced',
          'posted_not_balanced',
          'totals_differ',
          'totals_differ',
          'totals_differ',
          'totals_differ',
        ]);
        assert.ok(
          report.discrepancies.some(
            (d) =>
              d.kind === 'totals_differ' &&
              d.accountId === alice.id &&
              d.total === 'postedCredits' &&
              d.stored === 1_000_000n &&
              d.recomputed === 1000n,
          ),
        );
        assert.equal(report.discrepancyCount, kinds.length);
      } finally {
        await world.drop();
      }
    });
  });
}
