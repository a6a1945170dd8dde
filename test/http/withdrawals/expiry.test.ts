import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expireUnconfirmed } from '../../../src/services/withdrawals/expiry.ts';
import { api, forgetRateLimits } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  balanceOf,
  confirmTotp,
  readyCustomer,
  requestBtc,
  withdrawalRow,
} from '../../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`a request never confirmed ends in expired, on ${engine}`, (on) => {
    const running = on.app();

    test('a request left unconfirmed past its window is swept to expired, with its reason and history, and holds nothing', async () => {
      const customer = await readyCustomer(running, 'forgot@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.equal(await expireUnconfirmed(running.context, 10), 0, 'not before its window ends');
      running.clock.advance(running.context.withdrawals.confirmationWindowMs + 1);
      assert.equal(await expireUnconfirmed(running.context, 10), 1);
      assert.equal(await expireUnconfirmed(running.context, 10), 0, 'once');
      const seen = await api(running, 'GET', `/v1/withdrawals/${requested.body.id}`, {
        token: customer.token,
      });
      assert.equal(seen.body.state, 'expired');
      assert.equal(seen.body.reason, 'not confirmed in time');
      assert.deepEqual(
        seen.body.history.map((h: { to_state: string }) => h.to_state),
        ['awaiting_confirmation', 'expired'],
      );
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
      await forgetRateLimits(running);
      const late = await confirmTotp(running, customer, requested.body.id);
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.equal(late.body.code, 'WRONG_STATE');
      assert.equal(late.body.state, 'expired');
    });

    test('confirming after the window, before the sweep, expires it and says so', async () => {
      const customer = await readyCustomer(running, 'late-confirm@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      running.clock.advance(running.context.withdrawals.confirmationWindowMs + 1);
      const late = await confirmTotp(running, customer, requested.body.id);
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.equal(late.body.code, 'WITHDRAWAL_EXPIRED');
      assert.equal((await withdrawalRow(running, requested.body.id)).state, 'expired');
    });

    test('a request confirmed in time is not touched by the sweep', async () => {
      const customer = await readyCustomer(running, 'in-time@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      running.clock.advance(running.context.withdrawals.confirmationWindowMs + 1);
      assert.equal(await expireUnconfirmed(running.context, 10), 0);
      assert.equal((await withdrawalRow(running, requested.body.id)).state, 'queued');
    });
  });
}
