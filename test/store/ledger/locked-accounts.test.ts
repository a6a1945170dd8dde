import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountBalance, accountPairReads, placeHold } from '../../../src/store/ledger/index.ts';
import { inTransaction, readTogether } from '../../../src/store/transaction.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { isDomainError, ledgerWorld } from './ledger-world.ts';

const ALICE = { ownerId: 'alice', asset: 'BTC', kind: 'customer', debitsMustNotExceedCredits: true };
const FLIGHT = {
  ownerId: 'alice',
  asset: 'BTC',
  kind: 'withdrawal_in_flight',
  debitsMustNotExceedCredits: true,
};

// accountPairReads hands a transfer the accounts it read and locked, so the transfer need not read them again.
// How would that be abused? By a second transfer on the same stale totals, or the totals of another transaction.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`accounts locked ahead of a transfer on ${engine}`, () => {
    test('a pair read for a hold opens what is missing, and the hold lands on the right totals', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { fresh, clock } = world;
        await inTransaction(fresh.database, async (tx) => {
          const [pair] = await readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now()));
          const [alice, flight] = pair.accounts;
          assert.equal(alice.id, world.alice.id);
          assert.equal(flight.kind, 'withdrawal_in_flight', 'opened on first use');
          await placeHold(
            tx,
            {
              id: 'h1',
              debitAccountId: alice.id,
              creditAccountId: flight.id,
              asset: 'BTC',
              amount: 300n,
              code: 'w',
            },
            clock.now(),
            pair.locked,
          );
        });
        assert.equal((await world.ledger.accountBalance(world.alice.id)).available, 700n);
      } finally {
        await world.drop();
      }
    });

    test('attack: the same locked pair for two holds: the second reads again, so the balance still binds', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { fresh, clock } = world;
        // Open the in-flight account first, so both rows come back locked.
        await inTransaction(fresh.database, (tx) =>
          readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now())),
        );
        const hold = (id: string, amount: bigint, debit: string, credit: string) => ({
          id,
          debitAccountId: debit,
          creditAccountId: credit,
          asset: 'BTC',
          amount,
          code: 'w',
        });
        await assert.rejects(
          inTransaction(fresh.database, async (tx) => {
            const [pair] = await readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now()));
            const [alice, flight] = pair.accounts;
            await placeHold(tx, hold('h1', 600n, alice.id, flight.id), clock.now(), pair.locked);
            // With the pair's totals (1000 available) this would pass; read again, only 400 are left.
            await placeHold(tx, hold('h2', 600n, alice.id, flight.id), clock.now(), pair.locked);
          }),
          isDomainError('INSUFFICIENT_FUNDS'),
        );
        await inTransaction(fresh.database, async (tx) => {
          const [pair] = await readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now()));
          const [alice, flight] = pair.accounts;
          await placeHold(tx, hold('h1', 600n, alice.id, flight.id), clock.now(), pair.locked);
          await placeHold(tx, hold('h2', 400n, alice.id, flight.id), clock.now(), pair.locked);
          assert.equal((await accountBalance(tx, alice.id)).available, 0n);
        });
      } finally {
        await world.drop();
      }
    });

    test('attack: a pair locked in one transaction is no use in another, nor for other accounts', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { fresh, clock } = world;
        const pair = await inTransaction(fresh.database, async (tx) => {
          const [read] = await readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now()));
          return read;
        });
        const [alice, flight] = pair.accounts;
        // Meanwhile another transaction spends most of the balance.
        await world.ledger.transfer({
          id: 't1',
          debitAccountId: alice.id,
          creditAccountId: world.bob.id,
          asset: 'BTC',
          amount: 900n,
          code: 'internal',
        });
        await assert.rejects(
          inTransaction(fresh.database, (tx) =>
            placeHold(
              tx,
              {
                id: 'h1',
                debitAccountId: alice.id,
                creditAccountId: flight.id,
                asset: 'BTC',
                amount: 500n,
                code: 'w',
              },
              clock.now(),
              pair.locked,
            ),
          ),
          isDomainError('INSUFFICIENT_FUNDS'),
          'the stale pair from the first transaction is ignored: the hold reads the balance again',
        );
        await inTransaction(fresh.database, async (tx) => {
          const [read] = await readTogether(tx, accountPairReads(tx, ALICE, FLIGHT, clock.now()));
          // Debit another account than the pair's: it is read and locked as usual.
          await placeHold(
            tx,
            {
              id: 'h2',
              debitAccountId: world.bob.id,
              creditAccountId: read.accounts[1].id,
              asset: 'BTC',
              amount: 900n,
              code: 'w',
            },
            clock.now(),
            read.locked,
          );
        });
        assert.equal((await world.ledger.accountBalance(world.bob.id)).available, 0n);
      } finally {
        await world.drop();
      }
    });
  });
}
