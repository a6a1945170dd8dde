import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { api, operatorWithSession, signInAgain } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { confirmTotp, readyCustomer, requestBtc } from '../../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`operators search withdrawals, customers and the audit log, on ${engine}`, (on) => {
    const running = on.app();

    test('withdrawals by state, asset, account and time, a page at a time; a customer lists their own the same way', async () => {
      const alice = await readyCustomer(running, 'search-alice@example.com', '2');
      const bob = await readyCustomer(running, 'search-bob@example.com', '2');
      // Readying bob moved the clock a day: alice signs in again.
      Object.assign(alice, await signInAgain(running, alice));
      const started = running.clock.now().toISOString();
      const ids: string[] = [];
      for (const amount of ['0.1', '0.2', '0.3']) {
        const made = await requestBtc(running, alice, amount);
        assert.equal(made.status, 201, JSON.stringify(made.body));
        ids.push(made.body.id);
      }
      assert.equal((await confirmTotp(running, alice, ids[0] as string)).status, 200);
      const bobs = await requestBtc(running, bob, '0.5');
      const support = await operatorWithSession(running, 'search-support@ops.example', 'support');
      const search = (query: string) =>
        api(running, 'GET', `/v1/operator/withdrawals?${query}`, { token: support.token });

      const alicesAwaiting = await search('state=awaiting_confirmation&limit=200');
      assert.equal(alicesAwaiting.status, 200, JSON.stringify(alicesAwaiting.body));
      const awaitingIds = alicesAwaiting.body.withdrawals.map((w: { id: string }) => w.id);
      assert.ok(awaitingIds.includes(bobs.body.id));
      assert.ok(!awaitingIds.includes(ids[0]), 'the confirmed one is queued');

      const aliceId = (
        await api(running, 'GET', `/v1/operator/customers?email=search-alice`, { token: support.token })
      ).body.customers[0].id as string;
      const first = await search(`account_id=${aliceId}&limit=2&created_from=${started}`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(
        first.body.withdrawals.map((w: { id: string }) => w.id),
        [ids[2], ids[1]],
        'newest first',
      );
      assert.equal(first.body.has_more, true);
      const second = await search(
        `account_id=${aliceId}&limit=2&created_from=${started}&starting_after=${ids[1]}`,
      );
      assert.deepEqual(
        second.body.withdrawals.map((w: { id: string }) => w.id),
        [ids[0]],
      );
      assert.equal(second.body.has_more, false);
      const decided = await api(running, 'GET', `/v1/operator/withdrawals/${ids[0]}`, {
        token: support.token,
      });
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
      assert.equal(decided.body.account_id, aliceId);
      assert.ok(decided.body.rules.length > 0, 'each screening rule with its outcome and reason');
      for (const rule of decided.body.rules) assert.equal(typeof rule.reason, 'string');
      assert.deepEqual(
        { usd: decided.body.price.usd, source: decided.body.price.source },
        { usd: '60000', source: 'test' },
      );
      assert.equal(decided.body.usd_value, '6000');
      const none = await search(`asset=ETH&account_id=${aliceId}`);
      assert.deepEqual(none.body.withdrawals, []);

      for (const [query, field] of [
        ['state=lost', '/query/state'],
        ['asset=DOGE', '/query/asset'],
        ['created_from=yesterday', '/query/created_from'],
        ['limit=0', '/query/limit'],
        ['limit=201', '/query/limit'],
      ] as const) {
        const refused = await search(query);
        assert.equal(refused.status, 400, `${query}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.field, field, query);
      }

      const own = await api(running, 'GET', '/v1/withdrawals?limit=1', { token: alice.token });
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.deepEqual(
        own.body.withdrawals.map((w: { id: string }) => w.id),
        [ids[2]],
      );
      assert.equal(own.body.has_more, true);
      const othersRefused = await api(running, 'GET', `/v1/withdrawals?account_id=${aliceId}`, {
        token: bob.token,
      });
      assert.equal(othersRefused.status, 400, 'a customer cannot name another account');
      assert.match(String(othersRefused.body.field), /account_id/);
      const asCustomer = await api(running, 'GET', '/v1/operator/withdrawals', { token: alice.token });
      assert.ok(asCustomer.status === 401 || asCustomer.status === 403, String(asCustomer.status));
    });

    test('customers by the start of their email (wildcards are literal), and one customer with balances and factors', async () => {
      await readyCustomer(running, 'find_me@example.com', '1');
      await readyCustomer(running, 'findxme@example.com', '1');
      const support = await operatorWithSession(running, 'cust-support@ops.example', 'support');
      const found = await api(running, 'GET', '/v1/operator/customers?email=find_', { token: support.token });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual(
        found.body.customers.map((c: { email: string }) => c.email),
        ['find_me@example.com'],
        '_ is not a wildcard',
      );
      const one = await api(running, 'GET', `/v1/operator/customers/${found.body.customers[0].id}`, {
        token: support.token,
      });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.deepEqual(one.body.balances, [{ asset: 'BTC', available: '1', held: '0' }]);
      assert.deepEqual(
        one.body.factors.map((f: { method: string }) => f.method),
        ['totp'],
      );
      assert.equal(one.body.recovery_codes_left, 10);
      assert.doesNotMatch(JSON.stringify(one.body), /secret|password/i);
      const missing = await api(
        running,
        'GET',
        '/v1/operator/customers/01a21e3d-0000-7000-8000-000000000000',
        {
          token: support.token,
        },
      );
      assert.equal(missing.status, 404);
    });

    test('the audit log by action family, subject and actor, newest first, with its chain hashes', async () => {
      const customer = await readyCustomer(running, 'audited@example.com', '1');
      const made = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, made.body.id)).status, 200);
      await sealAudit(running.context.database);
      const support = await operatorWithSession(running, 'audit-support@ops.example', 'support');
      const search = (query: string) =>
        api(running, 'GET', `/v1/operator/audit?${query}`, { token: support.token });
      const about = await search(`subject=withdrawal:${made.body.id}`);
      assert.equal(about.status, 200, JSON.stringify(about.body));
      assert.deepEqual(
        about.body.entries.map((e: { action: string }) => e.action),
        ['withdrawal.confirmed', 'withdrawal.requested'],
      );
      for (const entry of about.body.entries) assert.match(entry.hash, /^[0-9a-f]{64}$/);
      // Only an operator actor is named by email: a customer stays an id.
      for (const entry of about.body.entries) assert.equal(entry.actor_email, null);
      const family = await search('action=withdrawal.*&limit=1');
      assert.equal(family.body.entries.length, 1);
      assert.equal(family.body.has_more, true);
      const next = await search(`action=withdrawal.*&limit=1&starting_after=${family.body.entries[0].id}`);
      assert.ok(next.body.entries[0].seq < family.body.entries[0].seq);
      for (const [query, field] of [
        ['action=with*drawal', '/query/action'],
        ['action=a%20b', '/query/action'],
        ['starting_after=01a21e3d-0000-7000-8000-000000000000', '/query/starting_after'],
        ['from=soon', '/query/from'],
      ] as const) {
        const refused = await search(query);
        assert.equal(refused.status, 400, `${query}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.field, field, query);
      }
    });
  });
}
