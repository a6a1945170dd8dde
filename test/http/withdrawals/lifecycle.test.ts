import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { conservationReport } from '../../../src/store/ledger/index.ts';
import { api, auditEntries, signInAgain } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  confirmTotp,
  customerId,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`withdrawal life cycle on ${engine}`, (on) => {
    const running = on.app();

    test('request, confirm with TOTP, queue, release with attestation, broadcast, confirm on chain, post the hold', async () => {
      const customer = await readyCustomer(running, 'life@example.com');
      const requested = await requestBtc(running, customer, '0.25');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.equal(requested.body.state, 'awaiting_confirmation');
      assert.match(
        requested.body.summary,
        /^Send 0\.25 BTC to bc1qw508\.\.\.v8f3t4 \(Cold wallet\), fee 0\.0001 BTC$/,
      );
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.equal(confirmed.body.state, 'queued');
      const balances = await api(running, 'GET', '/v1/balances', { token: customer.token });
      assert.deepEqual(balances.body.balances, [{ asset: 'BTC', available: '0.7499', held: '0.2501' }]);

      const chain = simulatedChain(running);
      assert.equal(
        (await releaseDue(running.context, chain)).released,
        0,
        'nothing before the cancel window ends',
      );
      running.clock.advance(10 * 60_000);
      const pass = await releaseDue(running.context, chain);
      assert.equal(pass.released, 1);
      running.clock.advance(3_000);
      assert.equal(await settleBroadcast(running.context, chain), 1);
      const done = await api(running, 'GET', `/v1/withdrawals/${requested.body.id}`, {
        token: customer.token,
      });
      assert.equal(done.body.state, 'completed');
      assert.deepEqual(
        done.body.history.map((h: { to_state: string }) => h.to_state),
        ['awaiting_confirmation', 'screening', 'queued', 'released', 'broadcast', 'completed'],
      );
      const after = await api(running, 'GET', '/v1/balances', { token: customer.token });
      assert.deepEqual(after.body.balances, [{ asset: 'BTC', available: '0.7499', held: '0' }]);
      const report = await conservationReport(running.context.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
      // The hold went through the customer's in-flight account and left it empty: 0.25 to custody (which
      // mirrors the chain, so it was -1 after the deposit), 0.0001 to fees.
      const net = async (owner: string, kind: string) => {
        const row = await running.context.database.db
          .selectFrom('ledger_accounts')
          .selectAll()
          .where('owner_id', '=', owner)
          .where('asset', '=', 'BTC')
          .where('kind', '=', kind)
          .executeTakeFirstOrThrow();
        return {
          posted: BigInt(row.posted_credits) - BigInt(row.posted_debits),
          pending: BigInt(row.pending_credits) - BigInt(row.pending_debits),
        };
      };
      assert.deepEqual(await net(await customerId(running, 'life@example.com'), 'withdrawal_in_flight'), {
        posted: 0n,
        pending: 0n,
      });
      assert.deepEqual(await net('platform', 'custody'), { posted: -75_000_000n, pending: 0n });
      assert.deepEqual(await net('platform', 'fees'), { posted: 10_000n, pending: 0n });
    });

    test('attack: custody confirms a different txid than the one it broadcast: errored for an operator, the hold stays', async () => {
      const customer = await readyCustomer(running, 'other-txid@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      const chain = simulatedChain(running);
      running.clock.advance(10 * 60_000);
      assert.equal((await releaseDue(running.context, chain)).released, 1);
      // The signer (or whoever speaks for it) then reports some other transaction as this payment's confirmation.
      const lying = {
        submit: chain.submit.bind(chain),
        status: async () => ({ status: 'confirmed' as const, txid: 'f'.repeat(64) }),
      };
      assert.equal(await settleBroadcast(running.context, lying), 0);
      const row = await running.context.database.db
        .selectFrom('withdrawals')
        .select(['state', 'reason'])
        .where('id', '=', requested.body.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.state, 'errored');
      assert.match(row.reason ?? '', /not the broadcast/);
      const balances = await api(running, 'GET', '/v1/balances', { token: customer.token });
      assert.deepEqual(balances.body.balances, [{ asset: 'BTC', available: '0.8999', held: '0.1001' }]);
      const audited = await auditEntries(running, 'withdrawal.errored');
      assert.ok(audited.some((entry) => entry.subject === `withdrawal:${requested.body.id}`));
    });

    test('one withdrawal that cannot settle does not hold up the others', async () => {
      const customer = await readyCustomer(running, 'settle-isolation@example.com');
      const first = await requestBtc(running, customer, '0.01');
      assert.equal((await confirmTotp(running, customer, first.body.id)).status, 200);
      running.clock.advance(31_000);
      const second = await requestBtc(running, customer, '0.02');
      assert.equal((await confirmTotp(running, customer, second.body.id)).status, 200);
      const chain = simulatedChain(running);
      running.clock.advance(10 * 60_000);
      assert.equal((await releaseDue(running.context, chain)).released, 2);
      running.clock.advance(3_000);
      const flaky = {
        submit: chain.submit.bind(chain),
        status: async (id: string) => {
          if (id === first.body.id) throw new Error('custody status endpoint down for this one');
          return chain.status(id);
        },
      };
      await assert.rejects(settleBroadcast(running.context, flaky), /1 withdrawal\(s\) could not settle/);
      const states = await running.context.database.db
        .selectFrom('withdrawals')
        .select(['id', 'state'])
        .where('id', 'in', [first.body.id, second.body.id])
        .execute();
      assert.deepEqual(
        Object.fromEntries(states.map((row) => [row.id === first.body.id ? 'first' : 'second', row.state])),
        { first: 'broadcast', second: 'completed' },
      );
    });
  });
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the value a withdrawal was decided at, on ${engine}`, (on) => {
    const running = on.app();

    test('confirmation stores the USD value and the price point screening used; without a fresh price, none', async () => {
      const customer = await readyCustomer(running, 'valued@example.com');
      const requested = await requestBtc(running, customer, '0.25');
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.equal(confirmed.body.usd_value, '15000');
      const row = await withdrawalRow(running, requested.body.id);
      assert.equal(row.usd_price, '60000');
      assert.equal(row.usd_price_source, 'test');
      assert.ok(row.usd_price_at !== null && row.usd_price_at <= running.clock.now().toISOString());

      running.clock.advance(25 * 60 * 60_000); // the price is now stale: screening holds, and nothing is valued
      const again = await signInAgain(running, customer);
      const late = await requestBtc(running, { ...customer, token: again.token }, '0.1');
      const held = await confirmTotp(running, { ...customer, token: again.token }, late.body.id);
      assert.equal(held.body.state, 'held_for_review', JSON.stringify(held.body));
      assert.equal(held.body.usd_value, null);
    });
  });
}
