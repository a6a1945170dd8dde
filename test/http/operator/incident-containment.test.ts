import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { bulkAccountId, seedBulkAccounts } from '../../../bench/support-bulk-accounts.ts';
import { newId } from '../../../src/core/ids.ts';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { api, mailbox, type Operator, operatorWithSession, signInAgain } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { insertAwaitingWithdrawals } from '../../support/in-flight.ts';
import {
  balanceOf,
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * Contain and freeze: everything not yet released in a scope is cancelled with its hold voided, batch by batch,
 * once (a second run changes nothing); 10,000 accounts frozen at once release nothing and get no email each; an
 * account is unfrozen only once nothing of it can still be released.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`incident containment and freeze on ${engine}`, (on) => {
    const running = on.app();
    let commander: Operator;
    let support: Operator;
    let operators = 0;

    /** Operators signed in now: making a ready customer moves the clock a day, past any earlier session. */
    async function signInOperators(): Promise<void> {
      operators += 1;
      commander = await operatorWithSession(running, `ic-${operators}@ops.example`, 'incident_commander');
      support = await operatorWithSession(running, `support-${operators}@ops.example`, 'support');
    }

    const call = (who: Operator, method: string, path: string, body?: unknown) =>
      api(running, method, path, { token: who.token, ...(body === undefined ? {} : { body }) });

    async function openIncident(title: string): Promise<string> {
      const opened = await call(commander, 'POST', '/v1/operator/incidents', { title, severity: 'critical' });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      return opened.body.id as string;
    }

    async function confirmedWithdrawal(customer: ReadyCustomer, amount: string): Promise<string> {
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      return requested.body.id as string;
    }

    test('contain cancels everything in flight in its scope once, holds voided, in batches; a second run changes nothing', async () => {
      let alice = await readyCustomer(running, 'alice@example.com');
      const bob = await readyCustomer(running, 'bob@example.com');
      alice = { ...alice, ...(await signInAgain(running, alice)) };
      await signInOperators();
      const aliceId = await customerId(running, alice.email);
      const aliceW = await confirmedWithdrawal(alice, '0.25');
      const bobW = await confirmedWithdrawal(bob, '0.5');
      assert.deepEqual(await balanceOf(running, alice.token), { available: '0.7499', held: '0.2501' });
      const pending = await insertAwaitingWithdrawals(running.context.database, {
        accountId: aliceId,
        count: 120,
        at: running.clock.now(),
        destinationId: alice.destinationId,
      });
      const id = await openIncident('Forged approvals');

      const bySupport = await call(support, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'all',
        reason: 'stop it',
      });
      assert.equal(bySupport.status, 403);
      const badScope = await call(commander, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'accounts',
        account_ids: [newId()],
        reason: 'stop it',
      });
      assert.equal(badScope.status, 400, JSON.stringify(badScope.body));
      assert.equal(badScope.body.field, '/body/account_ids/0');

      const bobOnly = await call(commander, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'accounts',
        account_ids: [await customerId(running, bob.email)],
        reason: 'bob reported it',
      });
      assert.equal(bobOnly.status, 200, JSON.stringify(bobOnly.body));
      assert.equal(bobOnly.body.status, 'done');
      assert.equal(bobOnly.body.cancelled, 1);
      assert.equal((await withdrawalRow(running, bobW)).state, 'cancelled');
      assert.deepEqual(await balanceOf(running, bob.token), { available: '1', held: '0' });
      assert.equal((await withdrawalRow(running, aliceW)).state, 'queued', 'outside the scope');

      const all = await call(commander, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'all',
        reason: 'stop everything in flight',
        batch_size: 25,
      });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.equal(all.body.status, 'done');
      assert.equal(all.body.cancelled, 121);
      assert.equal(all.body.batches, 5, '121 in batches of 25: the fifth is short and ends it');
      assert.equal((await withdrawalRow(running, aliceW)).state, 'cancelled');
      assert.deepEqual(await balanceOf(running, alice.token), { available: '1', held: '0' });
      const db = running.context.database.db;
      const left = await db
        .selectFrom('withdrawals')
        .select(sql<number | string>`count(*)`.as('n'))
        .where('id', 'in', pending)
        .where('state', '<>', 'cancelled')
        .executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 0);

      const again = await call(commander, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'all',
        reason: 'once more',
      });
      assert.equal(again.body.cancelled, 0, 'a second run changes nothing');
      const voids = await db
        .selectFrom('ledger_transfers')
        .select(sql<number | string>`count(*)`.as('n'))
        .where('id', 'in', [`${aliceW}:void`, `${bobW}:void`])
        .executeTakeFirstOrThrow();
      assert.equal(Number(voids.n), 2, 'each hold voided exactly once');
      await sealAudit(running.context.database);
      const cancels = await db
        .selectFrom('audit_log')
        .select(['subject', 'data'])
        .where('action', '=', 'withdrawal.cancelled')
        .where('subject', '=', `withdrawal:${aliceW}`)
        .execute();
      assert.equal(cancels.length, 1);
      assert.equal(
        JSON.parse(cancels[0]?.data ?? '{}').incident_id,
        id,
        'the cancel carries the incident id',
      );
      const listed = await call(support, 'GET', `/v1/operator/incidents/${id}/containments`);
      assert.equal(listed.body.containments.length, 3);
    });

    test('10,000 accounts frozen at once: nothing released, no email each; unfreeze only once nothing can be released', async () => {
      const carol = await readyCustomer(running, 'carol@example.com');
      const carolId = await customerId(running, carol.email);
      await signInOperators();
      const carolW = await confirmedWithdrawal(carol, '0.1');
      await seedBulkAccounts(running.context.database, 0, 9_999, running.clock.now());
      const accounts = [...Array.from({ length: 9_999 }, (_, n) => bulkAccountId(n)), carolId];
      const id = await openIncident('Mass account takeover');

      const unknown = await call(commander, 'POST', `/v1/operator/incidents/${id}/freeze`, {
        account_ids: [carolId, newId()],
        reason: 'takeover',
      });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.equal(unknown.body.field, '/body/account_ids/1');
      const bySupport = await call(support, 'POST', `/v1/operator/incidents/${id}/freeze`, {
        account_ids: [carolId],
        reason: 'takeover',
      });
      assert.equal(bySupport.status, 403);

      const mailBefore = (await mailbox(running, carol.email)).length;
      const frozen = await call(commander, 'POST', `/v1/operator/incidents/${id}/freeze`, {
        account_ids: accounts,
        reason: 'takeover',
      });
      assert.equal(frozen.status, 200, JSON.stringify(frozen.body));
      assert.deepEqual(frozen.body, { incident_id: id, frozen: 10_000, already_frozen: 0 });
      assert.equal((await mailbox(running, carol.email)).length, mailBefore, 'no lock email per account');
      const session = await api(running, 'GET', '/v1/balances', { token: carol.token });
      assert.equal(session.status, 401, 'the frozen account is signed out');

      running.clock.advance(15 * 60_000);
      const chain = simulatedChain(running);
      assert.equal((await releaseDue(running.context, chain)).released, 0, 'nothing released');
      assert.equal((await withdrawalRow(running, carolW)).state, 'queued');

      const retry = await call(commander, 'POST', `/v1/operator/incidents/${id}/freeze`, {
        account_ids: [carolId],
        reason: 'takeover',
      });
      assert.deepEqual(retry.body, { incident_id: id, frozen: 0, already_frozen: 1 });

      const early = await call(
        commander,
        'POST',
        `/v1/operator/incidents/${id}/accounts/${carolId}/unfreeze`,
        {
          reason: 'verified by phone',
        },
      );
      assert.equal(early.status, 409, 'a queued withdrawal would go out: contain first');
      const contained = await call(commander, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'accounts',
        account_ids: [carolId],
        reason: 'cancel what the attacker queued',
      });
      assert.equal(contained.body.cancelled, 1);
      const unfrozen = await call(
        commander,
        'POST',
        `/v1/operator/incidents/${id}/accounts/${carolId}/unfreeze`,
        {
          reason: 'verified by phone',
        },
      );
      assert.equal(unfrozen.status, 200, JSON.stringify(unfrozen.body));
      assert.equal(unfrozen.body.unlocked, true);
      const downtime = await call(support, 'GET', `/v1/operator/incidents/${id}/downtime`);
      assert.equal(downtime.body.accounts_frozen, 9_999);
      assert.equal(downtime.body.downtime_ms, 0, 'freezes are counted, not downtime');
    });
  });
}
