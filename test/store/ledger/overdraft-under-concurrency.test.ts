import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachEngine } from '../../support/each-engine.ts';
import { isDomainError, ledgerWorld } from './ledger-world.ts';

// The double-spend threat: many withdrawals confirmed at the same instant against one balance.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`available balance never goes negative under concurrency on ${engine}`, () => {
    test('200 concurrent holds on an account that covers only 50 of them: exactly 50 succeed', async () => {
      const world = await ledgerWorld(engine, { aliceBalance: 50n * 7n, poolSize: 20 });
      try {
        const { ledger, alice, custody } = world;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 200 }, (_, i) =>
            ledger.placeHold({
              id: `hold-${i}`,
              debitAccountId: alice.id,
              creditAccountId: custody.id,
              asset: 'BTC',
              amount: 7n,
              code: 'withdrawal',
            }),
          ),
        );
        const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') assert.ok(isDomainError('INSUFFICIENT_FUNDS')(outcome.reason));
        }
        assert.equal(succeeded, 50);
        const balance = await ledger.accountBalance(alice.id);
        assert.deepEqual([balance.pendingDebits, balance.available], [350n, 0n]);
        assert.equal((await ledger.conservationReport()).ok, true);
      } finally {
        await world.drop();
      }
    });

    test('transfers crossing in both directions between two customers neither deadlock nor overdraw', async () => {
      const world = await ledgerWorld(engine, { aliceBalance: 100n, poolSize: 20 });
      try {
        const { ledger, alice, bob } = world;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 60 }, (_, i) =>
            ledger.transfer({
              id: `swap-${i}`,
              debitAccountId: i % 2 === 0 ? alice.id : bob.id,
              creditAccountId: i % 2 === 0 ? bob.id : alice.id,
              asset: 'BTC',
              amount: 30n,
              code: 'internal',
            }),
          ),
        );
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') assert.ok(isDomainError('INSUFFICIENT_FUNDS')(outcome.reason));
        }
        const a = await ledger.accountBalance(alice.id);
        const b = await ledger.accountBalance(bob.id);
        assert.ok(a.available >= 0n && b.available >= 0n);
        assert.equal(a.available + b.available, 100n);
        assert.equal((await ledger.conservationReport()).ok, true);
      } finally {
        await world.drop();
      }
    });
  });
}
