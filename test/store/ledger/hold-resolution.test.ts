import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { isDomainError, ledgerWorld } from './ledger-world.ts';

// A retried request must never move money twice, and a hold must be posted or voided exactly once,
// even when two workers race to resolve it.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`holds resolve exactly once on ${engine}`, () => {
    test('retrying a hold, a post or a transfer with the same fields returns the first result', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, bob, clock } = world;
        const holdInput = {
          id: 'h1',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 400n,
          code: 'withdrawal',
          reference: 'w-1',
        };
        const first = await ledger.placeHold(holdInput);
        clock.advance(60_000);
        const retried = await ledger.placeHold(holdInput);
        assert.deepEqual(retried, first);
        // The retry's insert met the first row after the totals went out with it: both sides are put back.
        assert.equal((await ledger.accountBalance(alice.id)).pendingDebits, 400n);
        assert.equal((await ledger.accountBalance(custody.id)).pendingCredits, 400n);

        const post = await ledger.postHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_completed' });
        assert.deepEqual(
          await ledger.postHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_completed' }),
          post,
        );
        // The hold is already posted, so the same post retried also survives a full balance.
        const sendInput = {
          id: 't1',
          debitAccountId: alice.id,
          creditAccountId: bob.id,
          asset: 'BTC',
          amount: 600n,
          code: 'internal',
        };
        const sent = await ledger.transfer(sendInput);
        assert.deepEqual(await ledger.transfer(sendInput), sent);
        const balance = await ledger.accountBalance(alice.id);
        assert.deepEqual([balance.postedDebits, balance.pendingDebits, balance.available], [1000n, 0n, 0n]);
        assert.equal((await ledger.accountBalance(bob.id)).available, 600n);
        assert.equal((await ledger.conservationReport()).transfers, 4);
      } finally {
        await world.drop();
      }
    });

    test('the retry of a hold that took the whole balance returns that hold, not INSUFFICIENT_FUNDS', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody } = world;
        const input = {
          id: 'all-of-it',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 1000n,
          code: 'withdrawal',
        };
        const first = await ledger.placeHold(input);
        assert.deepEqual(await ledger.placeHold(input), first);
        await assert.rejects(
          ledger.placeHold({ ...input, amount: 999n }),
          isDomainError('CONFLICT', 'amount'),
        );
        await assert.rejects(
          ledger.placeHold({ ...input, id: 'another' }),
          isDomainError('INSUFFICIENT_FUNDS'),
        );
        await ledger.postHold({ id: 'post', pendingId: 'all-of-it', code: 'withdrawal_completed' });
        assert.deepEqual(await ledger.placeHold(input), first);
        assert.equal((await ledger.accountBalance(alice.id)).postedDebits, 1000n);
      } finally {
        await world.drop();
      }
    });

    test('the same id with other fields is a conflict naming what differs', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody, bob } = world;
        const input = {
          id: 'h1',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 400n,
          code: 'withdrawal',
        };
        await ledger.placeHold(input);
        await assert.rejects(ledger.placeHold({ ...input, amount: 401n }), (error: unknown) => {
          assert.ok(error instanceof DomainError);
          assert.equal(error.code, 'CONFLICT');
          assert.equal(error.field, 'amount');
          assert.deepEqual(error.details?.differs, ['amount']);
          return true;
        });
        await assert.rejects(
          ledger.placeHold({ ...input, creditAccountId: bob.id }),
          isDomainError('CONFLICT', 'creditAccountId'),
        );
        await assert.rejects(
          ledger.placeHold({ ...input, reference: 'other' }),
          isDomainError('CONFLICT', 'reference'),
        );
        await assert.rejects(ledger.transfer(input), isDomainError('CONFLICT', 'kind'));
        // The id is taken, so that answer comes before "deposit-alice is not a hold", as in TigerBeetle.
        await assert.rejects(
          ledger.postHold({ id: 'h1', pendingId: 'deposit-alice', code: 'withdrawal_completed' }),
          isDomainError('CONFLICT', 'kind'),
        );
        await ledger.postHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_completed' });
        await assert.rejects(
          ledger.postHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_settled' }),
          isDomainError('CONFLICT', 'code'),
        );
        await assert.rejects(
          ledger.voidHold({ id: 'p1', pendingId: 'h1', code: 'withdrawal_completed' }),
          isDomainError('CONFLICT', 'kind'),
        );
        assert.equal((await ledger.accountBalance(alice.id)).postedDebits, 400n);
      } finally {
        await world.drop();
      }
    });

    test('a posted hold cannot be voided or posted again, a voided one cannot be posted', async () => {
      const world = await ledgerWorld(engine);
      try {
        const { ledger, alice, custody } = world;
        const hold = (id: string) =>
          ledger.placeHold({
            id,
            debitAccountId: alice.id,
            creditAccountId: custody.id,
            asset: 'BTC',
            amount: 100n,
            code: 'withdrawal',
          });
        await hold('h-posted');
        await ledger.postHold({ id: 'p', pendingId: 'h-posted', code: 'withdrawal_completed' });
        await assert.rejects(
          ledger.voidHold({ id: 'v', pendingId: 'h-posted', code: 'withdrawal_cancelled' }),
          (error: unknown) => {
            assert.ok(error instanceof DomainError);
            assert.equal(error.code, 'ALREADY_RESOLVED');
            assert.deepEqual(
              { ...error.details },
              { pendingId: 'h-posted', resolvedBy: 'p', resolution: 'post_pending' },
            );
            return true;
          },
        );
        await assert.rejects(
          ledger.postHold({ id: 'p-again', pendingId: 'h-posted', code: 'withdrawal_completed' }),
          isDomainError('ALREADY_RESOLVED', 'pendingId'),
        );

        await hold('h-voided');
        await ledger.voidHold({ id: 'v2', pendingId: 'h-voided', code: 'withdrawal_cancelled' });
        await assert.rejects(
          ledger.postHold({ id: 'p2', pendingId: 'h-voided', code: 'withdrawal_completed' }),
          isDomainError('ALREADY_RESOLVED', 'pendingId'),
        );
        const balance = await ledger.accountBalance(alice.id);
        assert.deepEqual([balance.postedDebits, balance.pendingDebits, balance.available], [100n, 0n, 900n]);
        assert.equal((await ledger.conservationReport()).ok, true);
      } finally {
        await world.drop();
      }
    });

    test('two workers racing to post and void the same hold: exactly one wins', async () => {
      const world = await ledgerWorld(engine, { poolSize: 20 });
      try {
        const { ledger, alice, custody } = world;
        for (let round = 0; round < 5; round++) {
          const pendingId = `h-${round}`;
          await ledger.placeHold({
            id: pendingId,
            debitAccountId: alice.id,
            creditAccountId: custody.id,
            asset: 'BTC',
            amount: 10n,
            code: 'withdrawal',
          });
          const outcomes = await Promise.allSettled([
            ledger.postHold({ id: `post-a-${round}`, pendingId, code: 'withdrawal_completed' }),
            ledger.postHold({ id: `post-b-${round}`, pendingId, code: 'withdrawal_completed' }),
            ledger.voidHold({ id: `void-${round}`, pendingId, code: 'withdrawal_cancelled' }),
          ]);
          const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
          assert.equal(won.length, 1, `round ${round}`);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') assert.ok(isDomainError('ALREADY_RESOLVED')(outcome.reason));
          }
        }
        const balance = await ledger.accountBalance(alice.id);
        assert.equal(balance.pendingDebits, 0n);
        assert.equal(balance.postedDebits + balance.available, 1000n);
        assert.equal((await ledger.conservationReport()).ok, true);
      } finally {
        await world.drop();
      }
    });

    test('the same post sent twice at once resolves the hold once and returns the same transfer', async () => {
      const world = await ledgerWorld(engine, { poolSize: 20 });
      try {
        const { ledger, alice, custody } = world;
        await ledger.placeHold({
          id: 'h',
          debitAccountId: alice.id,
          creditAccountId: custody.id,
          asset: 'BTC',
          amount: 10n,
          code: 'withdrawal',
        });
        const posts = await Promise.all(
          Array.from({ length: 8 }, () =>
            ledger.postHold({ id: 'p', pendingId: 'h', code: 'withdrawal_completed' }),
          ),
        );
        for (const post of posts) assert.deepEqual(post, posts[0]);
        assert.equal((await ledger.accountBalance(alice.id)).postedDebits, 10n);
      } finally {
        await world.drop();
      }
    });
  });
}
