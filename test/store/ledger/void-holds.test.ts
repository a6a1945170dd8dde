import assert from 'node:assert/strict';
import { test } from 'node:test';
import { voidHolds } from '../../../src/store/ledger/index.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { isDomainError, ledgerWorld } from './ledger-world.ts';

// voidHolds (a containment's batch) voids each hold exactly once, as voidHold would one by one: the totals of every
// account touched come back, however many holds share it; a batch naming a hold already resolved answers as
// voidHold does and changes nothing.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`voiding holds in a batch on ${engine}`, () => {
    test('many holds over shared accounts voided at once; a second batch is refused and changes nothing', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, bob, custody, clock, fresh } = world;
        await ledger.transfer({
          id: 'deposit-bob',
          debitAccountId: custody.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 500n,
          code: 'deposit',
        });
        const holds = [
          ['a1', alice.id, 100n],
          ['a2', alice.id, 250n],
          ['b1', bob.id, 70n],
        ] as const;
        for (const [id, debit, amount] of holds)
          await ledger.placeHold({
            id,
            debitAccountId: debit,
            creditAccountId: custody.id,
            asset: 'BTC',
            amount,
            code: 'withdrawal',
          });
        const voids = holds.map(([id]) => ({
          id: `${id}:void`,
          pendingId: id,
          code: 'withdrawal_cancelled',
        }));
        await inTransaction(fresh.database, (tx) => voidHolds(tx, voids, clock.now()));
        assert.equal((await ledger.accountBalance(alice.id)).pendingDebits, 0n);
        assert.equal((await ledger.accountBalance(alice.id)).available, 1000n);
        assert.equal((await ledger.accountBalance(bob.id)).available, 500n);
        assert.equal((await ledger.accountBalance(custody.id)).pendingCredits, 0n);
        assert.equal((await ledger.getTransfer('a2:void'))?.kind, 'void_pending');
        // Once more with a fresh void id: the holds are resolved, so it is refused like voidHold, nothing written.
        const again = [{ id: 'a1:void-again', pendingId: 'a1', code: 'withdrawal_cancelled' }, voids[1]!];
        await assert.rejects(
          inTransaction(fresh.database, (tx) => voidHolds(tx, again, clock.now())),
          isDomainError('ALREADY_RESOLVED', 'pendingId'),
        );
        assert.equal(await ledger.getTransfer('a1:void-again'), undefined);
        assert.equal((await ledger.accountBalance(alice.id)).available, 1000n);
        const report = await ledger.conservationReport();
        assert.equal(report.transfers, 8);
        assert.ok(report.ok, JSON.stringify(report.discrepancies));
      } finally {
        await world.drop();
      }
    });
  });
}
