import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { DomainError } from '../../../src/core/errors.ts';
import {
  allTransitions,
  FINAL_STATES,
  TRANSITIONS,
  WITHDRAWAL_STATES,
} from '../../../src/core/withdrawals/states.ts';
import type { Custody } from '../../../src/services/custody/handover.ts';
import { expireUnconfirmed } from '../../../src/services/withdrawals/expiry.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { moveWithdrawal } from '../../../src/store/withdrawals.ts';
import {
  api,
  forgetRateLimits,
  operatorWithSession,
  registerSoftPasskey,
  signInAgain,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';
import {
  BTC_ADDRESS_2,
  confirmTotp,
  priceNow,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

const FIRST_USE_WINDOW_MS = 10 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the withdrawal life cycle is the table in core, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();
    beforeEach(async () => {
      await forgetRateLimits(running);
    });

    async function confirmed(customer: ReadyCustomer, amount = '0.01', expected = 'queued') {
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const done = await confirmTotp(running, customer, requested.body.id);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.state, expected, JSON.stringify(done.body));
      return done.body.id as string;
    }

    test('every hop not in the table is refused with ILLEGAL_TRANSITION, and the row and its history stay as they were', async () => {
      const customer = await readyCustomer(running, 'illegal-hops@example.com', '2');
      // Satisfy the database's own checks for every state (proof and attestation present), then try each hop.
      const attested = async () => {
        const fresh_ = await confirmed(customer);
        await sql`update withdrawals set attestation = ${'{}'} where id = ${fresh_}`.execute(
          fresh.database.db,
        );
        return fresh_;
      };
      let id = await attested();
      const rows = [id];
      const events = async () =>
        (
          await fresh.database.db
            .selectFrom('withdrawal_events')
            .select('id')
            .where('withdrawal_id', 'in', rows)
            .execute()
        ).length;
      let before = await events();
      let refused = 0;
      for (const from of WITHDRAWAL_STATES) {
        // Nothing moves a row out of a final state, not even raw SQL (migration 0035): a fresh row for each.
        if (FINAL_STATES.includes((await withdrawalRow(running, id)).state)) {
          await assert.rejects(
            sql`update withdrawals set state = ${from} where id = ${id}`.execute(fresh.database.db),
            /final state/,
          );
          id = await attested();
          rows.push(id);
          before = await events();
        }
        await sql`update withdrawals set state = ${from} where id = ${id}`.execute(fresh.database.db);
        for (const to of WITHDRAWAL_STATES) {
          if (TRANSITIONS[from].includes(to)) continue;
          await assert.rejects(
            inTransaction(fresh.database, (tx) =>
              moveWithdrawal(tx, {
                id,
                from,
                path: [{ to, actor: 'test', reason: null }],
                at: running.clock.now().toISOString(),
              }),
            ),
            (error: unknown) => error instanceof DomainError && error.code === 'ILLEGAL_TRANSITION',
            `${from} -> ${to}`,
          );
          assert.equal((await withdrawalRow(running, id)).state, from, `${from} -> ${to} changed nothing`);
          refused += 1;
        }
      }
      assert.equal(refused, WITHDRAWAL_STATES.length ** 2 - allTransitions().length);
      assert.equal(await events(), before, 'no event was written for a refused hop');
      // A path is checked hop by hop: a legal first hop does not carry an illegal second one.
      id = await attested();
      await assert.rejects(
        inTransaction(fresh.database, (tx) =>
          moveWithdrawal(tx, {
            id,
            from: 'queued',
            path: [
              { to: 'released', actor: 'test', reason: null },
              { to: 'completed', actor: 'test', reason: null },
            ],
            at: running.clock.now().toISOString(),
          }),
        ),
        (error: unknown) => error instanceof DomainError && error.code === 'ILLEGAL_TRANSITION',
      );
      await sql`update withdrawals set state = 'cancelled' where id = ${id}`.execute(fresh.database.db);
    });

    test('a move that lost its race (the row is no longer in `from`) writes no event and reports false', async () => {
      const customer = await readyCustomer(running, 'lost-race@example.com');
      const id = await confirmed(customer);
      const moved = await inTransaction(fresh.database, (tx) =>
        moveWithdrawal(tx, {
          id,
          from: 'time_locked',
          path: [{ to: 'queued', actor: 'test', reason: 'stale' }],
          at: running.clock.now().toISOString(),
        }),
      );
      assert.equal(moved, false);
      const stale = await fresh.database.db
        .selectFrom('withdrawal_events')
        .select('id')
        .where('withdrawal_id', '=', id)
        .where('reason', '=', 'stale')
        .execute();
      assert.deepEqual(stale, []);
    });

    test('every hop in the table is reached by some service: customers, screening, the releaser, custody, settlement and operators', async () => {
      let operators = 0;
      // Each decision by an operator signed in just now (the clock moves by days in this story).
      const operatorNow = (role: 'risk_analyst' | 'incident_commander') =>
        operatorWithSession(running, `hops-${role}-${++operators}@ops.example`, role);
      let customer = await readyCustomer(running, 'all-hops@example.com', '5');
      const chain = simulatedChain(running, 1, 1000);
      const cancel = async (id: string) => {
        const done = await api(running, 'POST', `/v1/withdrawals/${id}/cancel`, {
          token: customer.token,
          body: {},
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
      };
      const review = async (id: string, decision: 'approve' | 'reject') => {
        const done = await api(running, 'POST', `/v1/operator/withdrawals/${id}/review`, {
          token: (await operatorNow('risk_analyst')).token,
          body: { decision, reason: `analyst: ${decision}` },
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
      };
      const resolve = async (id: string, body: Record<string, unknown>) => {
        const done = await api(running, 'POST', `/v1/operator/withdrawals/${id}/resolve`, {
          token: (await operatorNow('incident_commander')).token,
          body: { ...body, reason: 'checked the chain' },
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
        return done.body;
      };

      // awaiting -> cancelled
      const abandoned = await requestBtc(running, customer, '0.01');
      await cancel(abandoned.body.id);
      // awaiting -> expired: never confirmed, swept when its window passed.
      const forgotten = await requestBtc(running, customer, '0.01');
      running.clock.advance(running.context.withdrawals.confirmationWindowMs + 1000);
      assert.equal(await expireUnconfirmed(running.context, 10), 1);
      assert.equal((await withdrawalRow(running, forgotten.body.id)).state, 'expired');
      // awaiting -> screening -> queued -> released -> broadcast -> completed
      const paid = await confirmed(customer);
      // queued -> cancelled
      const changedMind = await confirmed(customer);
      await cancel(changedMind);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, chain);
      running.clock.advance(2000);
      await settleBroadcast(running.context, chain);
      assert.equal((await withdrawalRow(running, paid)).state, 'completed');

      // screening -> held_for_review (no price) -> queued (approved); -> rejected; -> cancelled
      await fresh.database.db.deleteFrom('price_points').where('asset', '=', 'BTC').execute();
      const approved = await confirmed(customer, '0.01', 'held_for_review');
      const rejected = await confirmed(customer, '0.01', 'held_for_review');
      const heldCancelled = await confirmed(customer, '0.01', 'held_for_review');
      // Unpriced counts as above the two-analyst threshold: two different analysts approve it.
      await review(approved, 'approve');
      await review(approved, 'approve');
      await review(rejected, 'reject');
      await cancel(heldCancelled);
      await priceNow(running, 'BTC', '60000');

      // screening -> time_locked (a new address) -> queued; time_locked -> cancelled
      const proof = await stepUpToken(running, customer, 'address_book.add');
      const added = await api(running, 'POST', '/v1/address-book', {
        token: customer.token,
        body: { network: 'bitcoin', address: BTC_ADDRESS_2, label: 'New wallet', step_up_token: proof },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const fresher = { ...customer, destinationId: added.body.id as string };
      const locked = await confirmed(fresher, '0.01', 'time_locked');
      const lockedCancelled = await confirmed(fresher, '0.01', 'time_locked');
      await cancel(lockedCancelled);
      // screening -> rejected: the destination was removed between request and confirmation.
      const orphan = await requestBtc(running, fresher, '0.01');
      const removeProof = await stepUpToken(running, customer, 'address_book.remove');
      const removed = await api(running, 'DELETE', `/v1/address-book/${added.body.id}`, {
        token: customer.token,
        body: { step_up_token: removeProof },
      });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      const orphanConfirmed = await confirmTotp(running, customer, orphan.body.id);
      assert.equal(orphanConfirmed.body.state, 'rejected', JSON.stringify(orphanConfirmed.body));
      running.clock.advance(24 * 60 * 60_000);
      await releaseDue(running.context, chain);
      assert.notEqual(
        (await withdrawalRow(running, locked)).state,
        'time_locked',
        'requeued when its lock ended',
      );
      customer = { ...customer, ...(await signInAgain(running, customer)) };
      await priceNow(running, 'BTC', '60000');

      // queued -> time_locked: a security change after confirmation; queued -> held_for_review: the account locked.
      const relocked = await confirmed(customer);
      const stepUp = await stepUpToken(running, customer, 'mfa.enroll');
      await registerSoftPasskey(running, customer.token, new SoftAuthenticator(), stepUp);
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, chain);
      assert.equal((await withdrawalRow(running, relocked)).state, 'time_locked');

      // released -> errored (custody outcome unknown) -> cancelled (not paid); broadcast -> errored -> completed.
      await sql`update principals set withdrawals_locked_until = null where email = ${customer.email}`.execute(
        fresh.database.db,
      );
      customer = { ...customer, ...(await signInAgain(running, customer)) };
      await priceNow(running, 'BTC', '60000');
      const unknown = await confirmed(customer);
      const failing: Custody = {
        submit: async () => {
          throw new Error('connection reset');
        },
        status: async () => ({ status: 'unknown' }),
      };
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, failing);
      assert.equal((await withdrawalRow(running, unknown)).state, 'errored');
      await resolve(unknown, { outcome: 'not_paid' });
      const failed = await confirmed(customer);
      const broadcastThenFailed: Custody = {
        submit: async () => ({ kind: 'broadcast', txid: 'a'.repeat(64) }),
        status: async () => ({ status: 'failed', txid: 'a'.repeat(64) }),
      };
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, broadcastThenFailed);
      await settleBroadcast(running.context, broadcastThenFailed);
      assert.equal((await withdrawalRow(running, failed)).state, 'errored');
      const completed = await resolve(failed, { outcome: 'paid', txid: 'a'.repeat(64) });
      assert.equal(completed.state, 'completed');

      const lockedOut = await confirmed(customer);
      const lock = await api(running, 'POST', '/v1/account/lock', { token: customer.token });
      assert.equal(lock.status, 200, JSON.stringify(lock.body));
      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, chain);
      assert.equal((await withdrawalRow(running, lockedOut)).state, 'held_for_review');

      const seen = await fresh.database.db
        .selectFrom('withdrawal_events')
        .select(['from_state', 'to_state'])
        .where('from_state', 'is not', null)
        .distinct()
        .execute();
      const reached = new Set(seen.map((e) => `${e.from_state}->${e.to_state}`));
      const table = allTransitions().map(([from, to]) => `${from}->${to}`);
      assert.deepEqual(
        table.filter((hop) => !reached.has(hop)),
        [],
        'every hop of the table is reached by a service',
      );
      assert.deepEqual(
        [...reached].filter((hop) => !table.includes(hop)),
        [],
        'no service made a hop outside the table',
      );
    });
  });
}
