import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { placeHold } from '../../../src/store/ledger/index.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { isDomainError, ledgerWorld } from './ledger-world.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`ledger rules on ${engine}`, () => {
    test('a deposit, a hold, its post and a void move exactly the expected totals', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, bob } = world;
        assert.equal((await ledger.accountBalance(alice.id)).available, 1000n);
        assert.equal((await ledger.accountBalance(custody.id)).available, -1000n);

        const hold = await ledger.placeHold({
          id: 'h1',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 300n,
          code: 'withdrawal',
          reference: 'w-1',
        });
        assert.equal(hold.kind, 'pending');
        assert.equal(hold.amount, 300n);
        let balance = await ledger.accountBalance(alice.id);
        assert.deepEqual(
          [balance.postedCredits, balance.postedDebits, balance.pendingDebits, balance.available],
          [1000n, 0n, 300n, 700n],
        );

        const posted = await ledger.postHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_completed' });
        assert.equal(posted.kind, 'post_pending');
        assert.equal(posted.amount, 300n);
        assert.equal(posted.pendingId, 'h1');
        balance = await ledger.accountBalance(alice.id);
        assert.deepEqual([balance.postedDebits, balance.pendingDebits, balance.available], [300n, 0n, 700n]);
        const custodyBalance = await ledger.accountBalance(custody.id);
        assert.deepEqual([custodyBalance.postedCredits, custodyBalance.pendingCredits], [300n, 0n]);

        await ledger.placeHold({
          id: 'h2',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 200n,
          code: 'withdrawal',
        });
        assert.equal((await ledger.accountBalance(alice.id)).available, 500n);
        await ledger.voidHold({ id: 'v2', pendingId: 'h2', code: 'withdrawal_cancelled' });
        balance = await ledger.accountBalance(alice.id);
        assert.deepEqual([balance.postedDebits, balance.pendingDebits, balance.available], [300n, 0n, 700n]);

        await ledger.transfer({
          id: 't1',
          debitAccountId: alice.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 700n,
          code: 'internal',
        });
        assert.equal((await ledger.accountBalance(alice.id)).available, 0n);
        assert.equal((await ledger.accountBalance(bob.id)).available, 700n);
        const report = await ledger.conservationReport();
        assert.equal(
          report.ok,
          true,
          JSON.stringify(report.discrepancies, (_, v) => String(v)),
        );
        assert.equal(report.transfers, 6);
      } finally {
        await world.drop();
      }
    });

    test('bad transfer input is refused with the field at fault and changes nothing', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody } = world;
        const eth = await ledger.openAccount({
          ownerId: 'alice',
          asset: 'ETH',
          kind: 'customer',
          debitsMustNotExceedCredits: true,
        });
        const good = {
          id: 'x1',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 1n,
          code: 'withdrawal',
        };
        const cases = [
          [{ ...good, amount: 0n }, 'amount'],
          [{ ...good, amount: -5n }, 'amount'],
          [{ ...good, amount: 10n ** 40n }, 'amount'],
          [{ ...good, amount: 5 as unknown as bigint }, 'amount'],
          [{ ...good, debitAccountId: 'nobody' }, 'debitAccountId'],
          [{ ...good, creditAccountId: 'nobody' }, 'creditAccountId'],
          [{ ...good, creditAccountId: alice.id }, 'creditAccountId'],
          [{ ...good, creditAccountId: eth.id }, 'creditAccountId'],
          [{ ...good, asset: 'ETH' }, 'asset'],
          [{ ...good, asset: 'btc' }, 'asset'],
          [{ ...good, id: '' }, 'id'],
          [{ ...good, id: 'x'.repeat(129) }, 'id'],
          [{ ...good, code: '' }, 'code'],
          [{ ...good, reference: 'r'.repeat(257) }, 'reference'],
        ] as const;
        for (const [input, field] of cases) {
          await assert.rejects(ledger.placeHold(input), isDomainError('INVALID_INPUT', field), field);
          await assert.rejects(ledger.transfer(input), isDomainError('INVALID_INPUT', field), field);
        }
        await assert.rejects(
          ledger.postHold({ id: 'p', pendingId: 'missing', code: 'withdrawal_completed' }),
          isDomainError('INVALID_INPUT', 'pendingId'),
        );
        await assert.rejects(
          ledger.voidHold({ id: 'v', pendingId: 'deposit-alice', code: 'withdrawal_cancelled' }),
          isDomainError('INVALID_INPUT', 'pendingId'),
        );
        assert.equal(await ledger.getTransfer('x1'), undefined);
        assert.equal((await ledger.accountBalance(alice.id)).available, 1000n);
        assert.equal((await ledger.conservationReport()).transfers, 1);
      } finally {
        await world.drop();
      }
    });

    test('a customer cannot hold or send more than is available, holds included', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, bob } = world;
        const hold = (id: string, amount: bigint) =>
          ledger.placeHold({
            id,
            debitAccountId: alice.id,
            creditAccountId: custody.id,
            asset: 'BTC',
            amount,
            code: 'withdrawal',
          });
        await assert.rejects(hold('too-much', 1001n), (error: unknown) => {
          assert.ok(error instanceof DomainError);
          assert.equal(error.code, 'INSUFFICIENT_FUNDS');
          assert.deepEqual(
            { ...error.details },
            {
              account_id: alice.id,
              asset: 'BTC',
              available: '1000',
              requested: '1001',
            },
          );
          return true;
        });
        await hold('h600', 600n);
        await assert.rejects(hold('h500', 500n), isDomainError('INSUFFICIENT_FUNDS', 'amount'));
        await assert.rejects(
          ledger.transfer({
            id: 'send',
            debitAccountId: alice.id,
            creditAccountId: bob.id,
            asset: 'BTC',
            amount: 401n,
            code: 'internal',
          }),
          isDomainError('INSUFFICIENT_FUNDS'),
        );
        await hold('h400', 400n);
        assert.equal((await ledger.accountBalance(alice.id)).available, 0n);
        // Bob has nothing; a platform account such as custody may go negative (it mirrors the chain).
        await assert.rejects(
          ledger.transfer({
            id: 'bob-send',
            debitAccountId: bob.id,
            creditAccountId: alice.id,
            asset: 'BTC',
            amount: 1n,
            code: 'internal',
          }),
          isDomainError('INSUFFICIENT_FUNDS'),
        );
        assert.equal((await ledger.accountBalance(custody.id)).available, -1000n);
      } finally {
        await world.drop();
      }
    });

    test('opening an account twice returns the same account; a different overdraft rule is a conflict', async () => {
      const world = await ledgerWorld(engine);
      try {
        const again = await world.ledger.openAccount({
          ownerId: 'alice',
          asset: 'BTC',
          kind: 'customer',
          debitsMustNotExceedCredits: true,
        });
        assert.equal(again.id, world.alice.id);
        assert.equal(again.postedCredits, 1000n);
        const racing = await Promise.all(
          Array.from({ length: 5 }, () =>
            world.ledger.openAccount({
              ownerId: 'carol',
              asset: 'BTC',
              kind: 'customer',
              debitsMustNotExceedCredits: true,
            }),
          ),
        );
        assert.equal(new Set(racing.map((account) => account.id)).size, 1);
        await assert.rejects(
          world.ledger.openAccount({
            ownerId: 'alice',
            asset: 'BTC',
            kind: 'customer',
            debitsMustNotExceedCredits: false,
          }),
          isDomainError('CONFLICT', 'debitsMustNotExceedCredits'),
        );
        await assert.rejects(
          world.ledger.openAccount({
            ownerId: 'alice',
            asset: 'BTC',
            kind: 'Customer!',
            debitsMustNotExceedCredits: true,
          }),
          isDomainError('INVALID_INPUT', 'kind'),
        );
      } finally {
        await world.drop();
      }
    });

    test("a hold placed in a service's transaction rolls back with it", async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, fresh } = world;
        const input = {
          id: 'in-tx',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 100n,
          code: 'withdrawal',
        };
        await assert.rejects(
          inTransaction(fresh.database, async (tx) => {
            await placeHold(tx, input, world.clock.now());
            throw new Error('the withdrawal failed after the hold');
          }),
          /the withdrawal failed/,
        );
        assert.equal(await ledger.getTransfer('in-tx'), undefined);
        assert.equal((await ledger.accountBalance(alice.id)).pendingDebits, 0n);

        // A refused hold leaves the caller's transaction clean, so the caller may still commit.
        await inTransaction(fresh.database, async (tx) => {
          await assert.rejects(
            placeHold(tx, { ...input, amount: 5000n }, world.clock.now()),
            isDomainError('INSUFFICIENT_FUNDS'),
          );
          await placeHold(tx, input, world.clock.now());
        });
        assert.equal((await ledger.accountBalance(alice.id)).pendingDebits, 100n);
        assert.equal((await ledger.conservationReport()).ok, true);
      } finally {
        await world.drop();
      }
    });

    test('totals by asset add up every account of that asset, and of one kind', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, bob } = world;
        await ledger.transfer({
          id: 'a-to-b',
          debitAccountId: alice.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 250n,
          code: 'internal',
        });
        const all = await ledger.assetTotals('BTC');
        assert.deepEqual([all.accounts, all.postedDebits, all.postedCredits], [3, 1250n, 1250n]);
        const customers = await ledger.assetTotals('BTC', 'customer');
        assert.deepEqual([customers.accounts, customers.postedCredits - customers.postedDebits], [2, 1000n]);
        assert.equal((await ledger.assetTotals('ETH')).accounts, 0);
        await assert.rejects(ledger.accountBalance('nobody'), isDomainError('NOT_FOUND'));
      } finally {
        await world.drop();
      }
    });
  });
}
