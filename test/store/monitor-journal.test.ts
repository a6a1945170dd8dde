import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { accountJournalQuery, readAccountJournal } from '../../src/store/monitor-journal.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { ledgerWorld } from './ledger/ledger-world.ts';

/**
 * The monitor's per-verdict journal read (issue #13): one statement, every part an index lookup (so its cost grows
 * with the account's own transfers, never with the ledger), and a bound that says when the journal is incomplete.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the monitor's journal read, on ${engine}`, () => {
    test('reads the stored totals and every transfer of the account; at the bound it says incomplete', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, bob, custody, fresh } = world;
        await ledger.placeHold({
          id: 'h1',
          debitAccountId: alice.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 100n,
          code: 'withdrawal',
        });
        await ledger.voidHold({ id: 'h1:void', pendingId: 'h1', code: 'withdrawal_cancelled' });
        await ledger.transfer({
          id: 'other',
          debitAccountId: custody.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 5n,
          code: 'deposit',
        });
        const read = (bound: number) =>
          inTransaction(fresh.database, (tx) => readAccountJournal(tx, 'alice', 'BTC', bound));
        const all = await read(3);
        assert.equal(all.complete, true);
        assert.equal(all.account?.id, alice.id);
        assert.equal(all.account?.posted_credits, '1000');
        assert.deepEqual(all.transfers.map((t) => t.id).sort(), ['deposit-alice', 'h1', 'h1:void']);
        const credit = all.transfers.find((t) => t.id === 'deposit-alice');
        assert.equal(credit?.source_kind, 'custody');
        assert.equal(credit?.source_owner_id, 'platform');
        assert.equal(credit?.deposit, undefined, 'no deposits row behind this one');
        const cut = await read(2);
        assert.equal(cut.complete, false);
        assert.equal(cut.transfers.length, 2);
        const none = await inTransaction(fresh.database, (tx) => readAccountJournal(tx, 'nobody', 'BTC', 3));
        assert.deepEqual(none, { account: undefined, transfers: [], complete: true, bound: 3 });
      } finally {
        await world.drop();
      }
    });

    test('its plan is index lookups only: no scan of the ledger, the deposits or the reimbursements', async () => {
      const world = await ledgerWorld(engine);
      try {
        const query = accountJournalQuery('alice', 'BTC', 10_002, engine);
        const plan = await inTransaction(world.fresh.database, async (tx) => {
          if (engine === 'sqlite') {
            // Analysed with most transfers leaving one account (custody paying deposits), as a busy ledger is: the
            // debit index then looks unselective by its average, and the planner must still not scan the ledger.
            await sql`insert into ledger_transfers (id, debit_account_id, credit_account_id, asset, amount, code,
                kind, pending_id, created_at)
              with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000)
              select 'bulk-' || i, ${world.custody.id}, ${world.bob.id}, 'BTC', 1, 'deposit', 'posted', null,
                '2026-01-01T00:00:00.000Z'
              from n`.execute(tx);
            await sql`analyze`.execute(tx);
            const rows = await sql<{ detail: string }>`explain query plan ${query}`.execute(tx);
            return rows.rows.map((r) => r.detail);
          }
          // A ledger of many accounts in the asset, analysed, so the planner picks by real statistics.
          await sql`insert into ledger_accounts (id, owner_id, asset, kind, debits_must_not_exceed_credits,
              posted_debits, posted_credits, pending_debits, pending_credits, created_at)
            select 'acct-' || n, 'owner-' || n, 'BTC', 'customer', 1, 0, 0, 0, 0, '2026-01-01T00:00:00.000Z'
            from generate_series(1, 5000) as n`.execute(tx);
          await sql`analyze ledger_accounts`.execute(tx);
          // With sequential scans priced out, a plan still showing one has no index to use.
          await sql`set local enable_seqscan = off`.execute(tx);
          const rows = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(tx);
          return rows.rows.map((r) => r['QUERY PLAN']);
        });
        if (process.env.SHOW_PLAN === '1') console.log(plan.join('\n'));
        const scans = plan.filter((line) =>
          // SCAN CONSTANT ROW is `(select ?)`, the parameter's own row (see accountJournalQuery), not a table.
          engine === 'sqlite' ? /^SCAN (?!CONSTANT ROW$)/.test(line) : /Seq Scan/.test(line),
        );
        assert.deepEqual(scans, [], plan.join('\n'));
        // The customer's account is found by its unique (owner, asset, kind), not among every account of the asset.
        const byOwner = plan.filter((line) => /owner_id ?=/.test(line) && /(Index Cond|SEARCH)/.test(line));
        assert.equal(byOwner.length, 3, plan.join('\n'));
      } finally {
        await world.drop();
      }
    });
  });
}
