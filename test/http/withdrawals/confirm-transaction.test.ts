import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { api, forgetRateLimits, nextTotp } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { type ReadyCustomer, readyCustomer, requestBtc } from '../../support/withdrawals.ts';

const MINUTE_MS = 60_000;

// The confirmation is one transaction that counts its own attempt and carries the session's touch. What that must not
// change: an attempt whose transaction rolls back still counts, and the session is still seen.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the confirm transaction on ${engine}`, (on) => {
    const running = on.app();
    let customer: ReadyCustomer;
    before(async () => {
      customer = await readyCustomer(running, 'confirmer@example.com');
    });

    const sessionSeenAt = async () => {
      const row = await running.context.database.db
        .selectFrom('sessions')
        .select('last_seen_at')
        .where('ended_at', 'is', null)
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow();
      return row.last_seen_at;
    };

    test('confirmations that roll back (no such withdrawal) still count: the 11th in a minute is refused', async () => {
      await forgetRateLimits(running);
      const now = running.clock.now().getTime();
      running.clock.set(new Date((Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS));
      const missing = '01890000-0000-7000-8000-000000000000';
      for (let i = 0; i < 10; i++) {
        const answer = await api(running, 'POST', `/v1/withdrawals/${missing}/confirm`, {
          token: customer.token,
          body: { proof: { method: 'totp', code: '000000' } },
        });
        assert.equal(answer.status, 404, JSON.stringify(answer.body));
      }
      const refused = await api(running, 'POST', `/v1/withdrawals/${missing}/confirm`, {
        token: customer.token,
        body: { proof: { method: 'totp', code: '000000' } },
      });
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'RATE_LIMITED');
      // A real withdrawal of the same account is refused too while the window lasts, and nothing of it moves.
      const created = await requestBtc(running, customer, '0.001');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const blocked = await api(running, 'POST', `/v1/withdrawals/${created.body.id}/confirm`, {
        token: customer.token,
        body: { proof: { method: 'totp', code: nextTotp(running, customer.secret) } },
      });
      assert.equal(blocked.status, 429);
      const view = await api(running, 'GET', `/v1/withdrawals/${created.body.id}`, { token: customer.token });
      assert.equal(view.body.state, 'awaiting_confirmation');
      running.clock.advance(MINUTE_MS);
      await forgetRateLimits(running);
    });

    test('the session is seen by a request that writes (in its transaction) and by one that only reads', async () => {
      running.clock.advance(40_000);
      const before = await sessionSeenAt();
      const created = await requestBtc(running, customer, '0.001');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const afterWrite = await sessionSeenAt();
      assert.ok(afterWrite > before, `${afterWrite} > ${before}`);
      assert.equal(afterWrite, running.clock.now().toISOString());

      running.clock.advance(40_000);
      const listed = await api(running, 'GET', '/v1/withdrawals', { token: customer.token });
      assert.equal(listed.status, 200);
      assert.equal(await sessionSeenAt(), running.clock.now().toISOString());

      // A write that fails (its transaction rolls back) still leaves the session seen.
      running.clock.advance(40_000);
      const refused = await api(running, 'POST', '/v1/withdrawals', {
        token: customer.token,
        body: {
          asset: 'BTC',
          network: 'bitcoin',
          amount: '0.001',
          destination_id: '01890000-0000-7000-8000-000000000001',
        },
      });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(await sessionSeenAt(), running.clock.now().toISOString());
    });
  });
}
