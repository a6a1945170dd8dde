import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { balancesOf } from '../../src/services/deposits.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import { conservationReport } from '../../src/store/ledger/index.ts';
import { api, customerWithTotp, forgetRateLimits, operatorWithSession } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import { balanceOf, customerId } from '../support/withdrawals.ts';

/**
 * A deposit entered by hand is credited only once a second operator approves it: one operator (or one stolen
 * operator session) cannot credit a made-up chain output to an account they control and withdraw it.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(
    `deposits entered by hand, recorded by one operator and approved by another, on ${engine}`,
    (on) => {
      const fresh = on.database();
      const running = on.app();
      beforeEach(async () => {
        await forgetRateLimits(running);
      });

      test('recorded, nothing is credited; the recorder cannot approve; a second operator credits it, once', async () => {
        const customer = await customerWithTotp(running, 'depositor@example.com');
        const accountId = await customerId(running, customer.email);
        const commander = await operatorWithSession(running, 'deposits@ops.example', 'incident_commander');
        const admin = await operatorWithSession(running, 'second@ops.example', 'admin');
        const support = await operatorWithSession(running, 'support@ops.example', 'support');
        const record = (body: Record<string, unknown>, token = commander.token) =>
          api(running, 'POST', '/v1/operator/deposits', {
            token,
            body: { account_id: accountId, asset: 'BTC', network: 'bitcoin', txid: 'f00dcafe0001', ...body },
          });
        const balances = async () => (await balancesOf(running.context, accountId)).balances;
        const approve = (id: string, token: string) =>
          api(running, 'POST', `/v1/operator/deposits/${id}/approve`, { token, body: {} });

        const first = await record({ amount: '0.5', output_index: 1 });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.state, 'pending_approval');
        assert.equal(first.body.credited, false);
        assert.equal(first.body.recorded_by, commander.id);
        assert.equal(first.body.approved_by, null);
        assert.deepEqual(await balances(), []);
        const metric = async () =>
          /^drawbridge_deposits_awaiting_approval ([0-9]+)/m.exec(
            await (await fetch(`${running.url}/metrics`)).text(),
          )?.[1];
        assert.equal(await metric(), '1', 'the recorded deposit waits for a second operator');

        // Recorded again: the same record, still pending; another amount under the same output is refused.
        const again = await record({ amount: '0.5', output_index: 1 }, admin.token);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.deepEqual(again.body, first.body);
        const otherAmount = await record({ amount: '5', output_index: 1 });
        assert.equal(otherAmount.status, 409, JSON.stringify(otherAmount.body));

        // Any operator sees what waits; support may not record or approve.
        const waiting = await api(running, 'GET', '/v1/operator/deposits', { token: support.token });
        assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
        assert.deepEqual(
          waiting.body.deposits.map((d: { id: string }) => d.id),
          [first.body.id],
        );
        assert.equal(waiting.body.more, false);
        assert.equal((await record({ amount: '0.5', output_index: 9 }, support.token)).status, 403);
        assert.equal((await approve(first.body.id, support.token)).status, 403);

        // The recorder alone cannot credit it.
        const own = await approve(first.body.id, commander.token);
        assert.equal(own.status, 409, JSON.stringify(own.body));
        assert.equal(own.body.code, 'SAME_OPERATOR');
        assert.deepEqual(await balances(), []);

        const approved = await approve(first.body.id, admin.token);
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        assert.equal(approved.body.state, 'credited');
        assert.equal(approved.body.credited, true);
        assert.equal(approved.body.approved_by, admin.id);
        assert.equal(await metric(), '0');
        const told = await fresh.database.db
          .selectFrom('outbox')
          .select(['channel', 'security'])
          .where('account_id', '=', accountId)
          .where('event', '=', 'deposit.credited')
          .execute();
        assert.deepEqual(
          told.map((m) => [m.channel, Number(m.security)]),
          [['email', 0]],
          'the customer is told by email, a notice they may turn off',
        );
        assert.deepEqual(await balanceOf(running, customer.token), { available: '0.5', held: '0' });

        // Approved again, or recorded again: answered as credited, and credited once.
        const twice = await approve(first.body.id, admin.token);
        assert.equal(twice.status, 200, JSON.stringify(twice.body));
        assert.deepEqual(twice.body, { ...approved.body, credited: false });
        const recordedAgain = await record({ amount: '0.5', output_index: 1 });
        assert.equal(recordedAgain.body.state, 'credited');
        assert.deepEqual(await balanceOf(running, customer.token), { available: '0.5', held: '0' });
        assert.deepEqual(
          (await api(running, 'GET', '/v1/operator/deposits', { token: support.token })).body,
          {
            deposits: [],
            more: false,
          },
        );

        const unknown = await approve('01a23ab8-8559-7d0e-b1f4-3c6a2e9d8b07', admin.token);
        assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
        for (const bad of [
          { amount: '1e-3', output_index: 3 },
          { amount: '0.5', output_index: -1 },
          { amount: '0.5', output_index: 4, network: 'ethereum' },
          { amount: '0.5', output_index: 5, txid: 'short' },
        ]) {
          const refused = await record(bad);
          assert.equal(refused.status, 400, JSON.stringify(refused.body));
        }
        const onOperator = await record({ account_id: commander.id, amount: '1', output_index: 6 });
        assert.equal(onOperator.status, 400, JSON.stringify(onOperator.body));
        assert.equal(onOperator.body.field, '/body/account_id');
        const badLimit = await api(running, 'GET', '/v1/operator/deposits?limit=0', { token: support.token });
        assert.equal(badLimit.status, 400, JSON.stringify(badLimit.body));

        await sealAudit(fresh.database);
        const trail = await fresh.database.db
          .selectFrom('audit_log')
          .select(['actor', 'action'])
          .where('action', 'in', ['deposit.recorded', 'deposit.credited'])
          .orderBy('seq')
          .execute();
        assert.deepEqual(trail, [
          { actor: `operator:${commander.id}`, action: 'deposit.recorded' },
          { actor: `operator:${admin.id}`, action: 'deposit.credited' },
        ]);
        const report = await conservationReport(fresh.database.db);
        assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
      });

      test('two approvals at once credit the deposit once', async () => {
        const customer = await customerWithTotp(running, 'racer@example.com');
        const accountId = await customerId(running, customer.email);
        const recorder = await operatorWithSession(running, 'recorder@ops.example', 'incident_commander');
        const one = await operatorWithSession(running, 'one@ops.example', 'incident_commander');
        const two = await operatorWithSession(running, 'two@ops.example', 'admin');
        const recorded = await api(running, 'POST', '/v1/operator/deposits', {
          token: recorder.token,
          body: {
            account_id: accountId,
            asset: 'BTC',
            network: 'bitcoin',
            amount: '0.25',
            txid: 'racecafe0001',
            output_index: 0,
          },
        });
        assert.equal(recorded.status, 200, JSON.stringify(recorded.body));
        const answers = await Promise.all(
          [one, two].map((operator) =>
            api(running, 'POST', `/v1/operator/deposits/${recorded.body.id}/approve`, {
              token: operator.token,
              body: {},
            }),
          ),
        );
        const credited = answers.filter((a) => a.status === 200 && a.body.credited === true);
        assert.equal(credited.length, 1, JSON.stringify(answers.map((a) => [a.status, a.body])));
        for (const answer of answers)
          assert.ok(
            answer.status === 200 || (answer.status === 409 && answer.body.code === 'ALREADY_RESOLVED'),
            JSON.stringify(answer.body),
          );
        assert.deepEqual(await balanceOf(running, customer.token), { available: '0.25', held: '0' });
      });

      test('the database itself refuses a credit without a second operator, whatever writes', async () => {
        const customer = await customerWithTotp(running, 'insider@example.com');
        const accountId = await customerId(running, customer.email);
        const db = fresh.database.db;
        const terms = {
          network: 'bitcoin',
          txid: 'feedface0001',
          output_index: 0,
          account_id: accountId,
          asset: 'BTC',
          amount: '100000000',
        };
        const refused = async (what: string, write: () => Promise<unknown>) => {
          await assert.rejects(write, /second operator|recorder|approved/i, what);
        };
        // A credited deposit row with no request behind it, or with one operator named twice.
        await refused('a deposit with no request', () =>
          db
            .insertInto('deposits')
            .values({
              id: 'forged-1',
              ...terms,
              transfer_id: 'deposit:bitcoin:feedface0001:0',
              created_at: new Date().toISOString(),
              recorded_by: 'op-a',
              approved_by: 'op-b',
            })
            .execute(),
        );
        await refused('a request written already approved', () =>
          db
            .insertInto('deposit_requests')
            .values({
              id: 'forged-2',
              ...terms,
              recorded_by: 'op-a',
              recorded_at: new Date().toISOString(),
              approved_by: 'op-b',
              approved_at: new Date().toISOString(),
              deposit_id: null,
            })
            .execute(),
        );
        await db
          .insertInto('deposit_requests')
          .values({
            id: 'request-1',
            ...terms,
            recorded_by: 'op-a',
            recorded_at: new Date().toISOString(),
            approved_by: null,
            approved_at: null,
            deposit_id: null,
            rejected_by: null,
            rejected_at: null,
            rejection_reason: null,
          })
          .execute();
        await refused('approved by its recorder', () =>
          db
            .updateTable('deposit_requests')
            .set({ approved_by: 'op-a', approved_at: new Date().toISOString() })
            .where('id', '=', 'request-1')
            .execute(),
        );
        await refused('its amount changed', () =>
          db
            .updateTable('deposit_requests')
            .set({ amount: '200000000' })
            .where('id', '=', 'request-1')
            .execute(),
        );
        await refused('deleted', () =>
          db.deleteFrom('deposit_requests').where('id', '=', 'request-1').execute(),
        );
        await refused('a deposit naming one operator twice', () =>
          db
            .insertInto('deposits')
            .values({
              id: 'forged-3',
              ...terms,
              transfer_id: 'deposit:bitcoin:feedface0001:0',
              created_at: new Date().toISOString(),
              recorded_by: 'op-a',
              approved_by: 'op-a',
            })
            .execute(),
        );
        // Approved by another: the credit's row may then be written, for exactly those terms and names.
        await db
          .updateTable('deposit_requests')
          .set({ approved_by: 'op-b', approved_at: new Date().toISOString(), deposit_id: 'request-1' })
          .where('id', '=', 'request-1')
          .execute();
        await refused('a deposit for another amount than approved', () =>
          db
            .insertInto('deposits')
            .values({
              id: 'forged-4',
              ...terms,
              amount: '900000000',
              transfer_id: 'deposit:bitcoin:feedface0001:0',
              created_at: new Date().toISOString(),
              recorded_by: 'op-a',
              approved_by: 'op-b',
            })
            .execute(),
        );
        await refused('approved a second time', () =>
          db
            .updateTable('deposit_requests')
            .set({ approved_by: 'op-c', approved_at: new Date().toISOString() })
            .where('id', '=', 'request-1')
            .execute(),
        );
        await db
          .insertInto('deposits')
          .values({
            id: 'request-1',
            ...terms,
            transfer_id: 'deposit:bitcoin:feedface0001:0',
            created_at: new Date().toISOString(),
            recorded_by: 'op-a',
            approved_by: 'op-b',
          })
          .execute();
        // A credited deposit stays as it was credited, and is never deleted or written over.
        await refused('its amount changed', () =>
          db.updateTable('deposits').set({ amount: '900000000' }).where('id', '=', 'request-1').execute(),
        );
        await refused('its names cleared', () =>
          db.updateTable('deposits').set({ recorded_by: null }).where('id', '=', 'request-1').execute(),
        );
        await refused('deleted', () => db.deleteFrom('deposits').where('id', '=', 'request-1').execute());
        if (engine === 'sqlite') {
          await refused('replaced', () =>
            sql`insert or replace into deposits (id, network, txid, output_index, account_id, asset, amount,
              transfer_id, created_at, recorded_by, approved_by)
              values ('request-1', 'bitcoin', 'feedface0001', 0, ${accountId}, 'BTC', '900000000',
              'deposit:bitcoin:feedface0001:0', '2026-01-01T00:00:00.000Z', 'op-a', 'op-b')`.execute(db),
          );
        } else {
          await refused('truncated', () => sql`truncate deposits`.execute(db));
        }
        // A rejected request is final: never approved afterwards.
        await db
          .insertInto('deposit_requests')
          .values({
            id: 'request-2',
            ...terms,
            txid: 'feedface0002',
            recorded_by: 'op-a',
            recorded_at: new Date().toISOString(),
            approved_by: null,
            approved_at: null,
            deposit_id: null,
            rejected_by: null,
            rejected_at: null,
            rejection_reason: null,
          })
          .execute();
        await db
          .updateTable('deposit_requests')
          .set({ rejected_by: 'op-a', rejected_at: new Date().toISOString(), rejection_reason: 'typo' })
          .where('id', '=', 'request-2')
          .execute();
        await refused('approved once rejected', () =>
          db
            .updateTable('deposit_requests')
            .set({
              approved_by: 'op-b',
              approved_at: new Date().toISOString(),
              deposit_id: 'request-2',
              rejected_by: null,
              rejected_at: null,
              rejection_reason: null,
            })
            .where('id', '=', 'request-2')
            .execute(),
        );
      });

      test('a wrong entry is rejected, never credited, and its output recorded again correctly', async () => {
        const customer = await customerWithTotp(running, 'typo@example.com');
        const accountId = await customerId(running, customer.email);
        const recorder = await operatorWithSession(running, 'typist@ops.example', 'incident_commander');
        const second = await operatorWithSession(running, 'checker@ops.example', 'admin');
        const record = (amount: string, token = recorder.token) =>
          api(running, 'POST', '/v1/operator/deposits', {
            token,
            body: {
              account_id: accountId,
              asset: 'BTC',
              network: 'bitcoin',
              amount,
              txid: 'typocafe0001',
              output_index: 0,
            },
          });
        const decide = (id: string, what: 'approve' | 'reject', token: string, body: object = {}) =>
          api(running, 'POST', `/v1/operator/deposits/${id}/${what}`, { token, body });
        const wrong = await record('50');
        assert.equal(wrong.status, 200, JSON.stringify(wrong.body));
        const blocked = await record('0.5');
        assert.equal(blocked.status, 409, JSON.stringify(blocked.body));
        assert.equal(blocked.body.deposit_id, wrong.body.id, 'the 409 names the record in the way');
        const noReason = await decide(wrong.body.id, 'reject', recorder.token, { reason: '' });
        assert.equal(noReason.status, 400, JSON.stringify(noReason.body));
        const rejected = await decide(wrong.body.id, 'reject', recorder.token, {
          reason: 'typo: 50 for 0.5',
        });
        assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
        assert.equal(rejected.body.state, 'rejected');
        assert.equal(rejected.body.rejected_by, recorder.id);
        const late = await decide(wrong.body.id, 'approve', second.token);
        assert.equal(late.status, 409, JSON.stringify(late.body));
        assert.equal(late.body.code, 'WRONG_STATE');
        const right = await record('0.5');
        assert.equal(right.status, 200, JSON.stringify(right.body));
        assert.notEqual(right.body.id, wrong.body.id);
        assert.equal(right.body.state, 'pending_approval');
        assert.equal((await decide(right.body.id, 'approve', second.token)).status, 200);
        const tooLate = await decide(right.body.id, 'reject', second.token, { reason: 'changed my mind' });
        assert.equal(tooLate.status, 409, JSON.stringify(tooLate.body));
        assert.equal(tooLate.body.code, 'ALREADY_RESOLVED');
        assert.deepEqual(await balanceOf(running, customer.token), { available: '0.5', held: '0' });
      });

      test('the same output recorded twice at once: one record, both answered with it', async () => {
        const customer = await customerWithTotp(running, 'twice@example.com');
        const accountId = await customerId(running, customer.email);
        const one = await operatorWithSession(running, 'one-recorder@ops.example', 'incident_commander');
        const two = await operatorWithSession(running, 'two-recorder@ops.example', 'admin');
        const answers = await Promise.all(
          [one, two, one, two].map((operator) =>
            api(running, 'POST', '/v1/operator/deposits', {
              token: operator.token,
              body: {
                account_id: accountId,
                asset: 'BTC',
                network: 'bitcoin',
                amount: '0.1',
                txid: 'samecafe0001',
                output_index: 0,
              },
            }),
          ),
        );
        for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'one record');
      });

      test('the list of those awaiting says when more wait than it shows', async () => {
        const customer = await customerWithTotp(running, 'many@example.com');
        const accountId = await customerId(running, customer.email);
        const recorder = await operatorWithSession(running, 'lister@ops.example', 'incident_commander');
        const ids: string[] = [];
        for (const output_index of [0, 1]) {
          const recorded = await api(running, 'POST', '/v1/operator/deposits', {
            token: recorder.token,
            body: {
              account_id: accountId,
              asset: 'BTC',
              network: 'bitcoin',
              amount: '0.1',
              txid: 'listcafe0001',
              output_index,
            },
          });
          assert.equal(recorded.status, 200, JSON.stringify(recorded.body));
          ids.push(recorded.body.id);
        }
        const one = await api(running, 'GET', '/v1/operator/deposits?limit=1', { token: recorder.token });
        assert.equal(one.status, 200, JSON.stringify(one.body));
        assert.equal(one.body.deposits.length, 1);
        assert.equal(one.body.more, true, 'at the bound the answer says more wait');
        const all = await api(running, 'GET', '/v1/operator/deposits?limit=500', { token: recorder.token });
        const listed = all.body.deposits.map((d: { id: string }) => d.id);
        for (const id of ids) assert.ok(listed.includes(id), id);
        assert.equal(all.body.more, false);
        assert.equal(all.body.deposits.at(-1).recorded_by_email, 'lister@ops.example');
      });
    },
  );
}
