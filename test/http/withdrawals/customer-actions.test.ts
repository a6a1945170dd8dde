import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { conservationReport } from '../../../src/store/ledger/index.ts';
import {
  api,
  forgetRateLimits,
  nextTotp,
  operatorWithSession,
  principalRow,
  signInAgain,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  balanceOf,
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

const FIRST_USE_WINDOW_MS = 10 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`what a customer and an operator may do with a withdrawal, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();
    beforeEach(async () => {
      await forgetRateLimits(running);
    });

    async function requested(customer: ReadyCustomer, amount = '0.1', headers?: Record<string, string>) {
      const response = await api(running, 'POST', '/v1/withdrawals', {
        token: customer.token,
        headers,
        body: { asset: 'BTC', network: 'bitcoin', amount, destination_id: customer.destinationId },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body as { id: string };
    }

    async function signedInAgain(customer: ReadyCustomer): Promise<ReadyCustomer> {
      return { ...customer, token: (await signInAgain(running, customer)).token };
    }

    async function withdrawalCount(accountEmail: string): Promise<number> {
      const accountId = await customerId(running, accountEmail);
      const rows = await fresh.database.db
        .selectFrom('withdrawals')
        .select('id')
        .where('account_id', '=', accountId)
        .execute();
      return rows.length;
    }

    test('confirm after the 5-minute window: 409 and the withdrawal is expired', async () => {
      const customer = await readyCustomer(running, 'late@example.com');
      const w = await requested(customer);
      running.clock.advance(5 * 60_000);
      const late = await confirmTotp(running, customer, w.id);
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.equal(late.body.state, 'expired');
      const row = await withdrawalRow(running, w.id);
      assert.equal(row.state, 'expired');
      assert.equal(row.proof_id, null);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
    });

    test("confirm, cancel, challenge or read ANOTHER customer's withdrawal: 404, and nothing changes", async () => {
      const malloryBefore = await readyCustomer(running, 'mallory@example.com');
      const alice = await readyCustomer(running, 'alice@example.com');
      // Readying a customer moves the clock a day on: the first one signs in again.
      const mallory = await signedInAgain(malloryBefore);
      const w = await requested(alice);
      const attempts = [
        [
          'POST',
          `/v1/withdrawals/${w.id}/confirm`,
          { proof: { method: 'totp', code: nextTotp(running, mallory.secret) } },
        ],
        ['POST', `/v1/withdrawals/${w.id}/cancel`, undefined],
        ['POST', `/v1/withdrawals/${w.id}/passkey-challenge`, undefined],
        ['GET', `/v1/withdrawals/${w.id}`, undefined],
      ] as const;
      for (const [method, path, body] of attempts) {
        const response = await api(running, method, path, { token: mallory.token, body });
        assert.equal(response.status, 404, `${method} ${path}: ${JSON.stringify(response.body)}`);
      }
      const row = await withdrawalRow(running, w.id);
      assert.equal(row.state, 'awaiting_confirmation');
      assert.equal(row.confirm_failures, 0);
      // Alice's withdrawal is still hers to confirm.
      assert.equal((await confirmTotp(running, alice, w.id)).status, 200);
    });

    test('cancel: any time before release the hold is voided; after release 409; an operator cancels too', async () => {
      const customer = await readyCustomer(running, 'canceller@example.com');
      const unconfirmed = await requested(customer);
      const queued = await requested(customer);
      const released = await requested(customer);
      const byOperator = await requested(customer);
      for (const w of [queued, released, byOperator])
        assert.equal((await confirmTotp(running, customer, w.id)).status, 200);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.6997', held: '0.3003' });

      for (const w of [unconfirmed, queued]) {
        const cancelled = await api(running, 'POST', `/v1/withdrawals/${w.id}/cancel`, {
          token: customer.token,
        });
        assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
        assert.equal(cancelled.body.state, 'cancelled');
      }
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7998', held: '0.2002' });
      const twice = await api(running, 'POST', `/v1/withdrawals/${queued.id}/cancel`, {
        token: customer.token,
      });
      assert.equal(twice.status, 409, 'a cancelled withdrawal stays cancelled, its hold voided once');

      const support = await operatorWithSession(running, 'support@ops.example', 'support');
      const byOp = await api(running, 'POST', `/v1/operator/withdrawals/${byOperator.id}/cancel`, {
        token: support.token,
        body: { reason: 'customer called support' },
      });
      assert.equal(byOp.status, 200, JSON.stringify(byOp.body));
      assert.equal(byOp.body.state, 'cancelled');
      assert.equal(byOp.body.reason, 'customer called support');
      const seen = await api(running, 'GET', `/v1/withdrawals/${byOperator.id}`, { token: customer.token });
      assert.equal(seen.body.state, 'cancelled');
      assert.equal(seen.body.history.at(-1).actor, `operator:${support.id}`);

      running.clock.advance(FIRST_USE_WINDOW_MS);
      await releaseDue(running.context, simulatedChain(running));
      assert.equal((await withdrawalRow(running, released.id)).state, 'broadcast');
      const tooLate = await api(running, 'POST', `/v1/withdrawals/${released.id}/cancel`, {
        token: customer.token,
      });
      assert.equal(tooLate.status, 409, JSON.stringify(tooLate.body));
      const opTooLate = await api(running, 'POST', `/v1/operator/withdrawals/${released.id}/cancel`, {
        token: support.token,
        body: { reason: 'too late' },
      });
      assert.equal(opTooLate.status, 409, JSON.stringify(opTooLate.body));
      assert.equal((await withdrawalRow(running, released.id)).state, 'broadcast');
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.8999', held: '0.1001' });
      const report = await conservationReport(fresh.database.db);
      assert.equal(report.ok, true, JSON.stringify(report.discrepancies));
    });

    test('Idempotency-Key on create, confirm and cancel: a retry returns the first answer and acts once', async () => {
      const customer = await readyCustomer(running, 'retrier@example.com');
      const create = { 'idempotency-key': 'create-1' };
      const first = await requested(customer, '0.1', create);
      const retry = await api(running, 'POST', '/v1/withdrawals', {
        token: customer.token,
        headers: create,
        body: { asset: 'BTC', network: 'bitcoin', amount: '0.1', destination_id: customer.destinationId },
      });
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.equal(retry.body.id, first.id, 'the same withdrawal, not a second one');
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      const mismatch = await api(running, 'POST', '/v1/withdrawals', {
        token: customer.token,
        headers: create,
        body: { asset: 'BTC', network: 'bitcoin', amount: '0.2', destination_id: customer.destinationId },
      });
      assert.equal(mismatch.status, 422, JSON.stringify(mismatch.body));
      assert.equal(await withdrawalCount(customer.email), 1);

      const confirmKey = { 'idempotency-key': 'confirm-1' };
      const body = { proof: { method: 'totp', code: nextTotp(running, customer.secret) } };
      const path = `/v1/withdrawals/${first.id}/confirm`;
      const confirmed = await api(running, 'POST', path, {
        token: customer.token,
        headers: confirmKey,
        body,
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      const confirmedAgain = await api(running, 'POST', path, {
        token: customer.token,
        headers: confirmKey,
        body,
      });
      assert.equal(confirmedAgain.status, 200, JSON.stringify(confirmedAgain.body));
      assert.deepEqual(confirmedAgain.body, confirmed.body);
      assert.equal(confirmedAgain.headers.get('idempotent-replayed'), 'true');
      assert.equal(
        (await principalRow(running, customer.email)).mfa_failures,
        0,
        'the retry was no replayed code',
      );

      const cancelKey = { 'idempotency-key': 'cancel-1' };
      const cancelPath = `/v1/withdrawals/${first.id}/cancel`;
      const cancelled = await api(running, 'POST', cancelPath, { token: customer.token, headers: cancelKey });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      const cancelledAgain = await api(running, 'POST', cancelPath, {
        token: customer.token,
        headers: cancelKey,
      });
      assert.equal(cancelledAgain.status, 200, JSON.stringify(cancelledAgain.body));
      assert.deepEqual(cancelledAgain.body, cancelled.body);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '1', held: '0' });
    });

    test('bad input is a 4xx problem naming the field, changes nothing and is never a 5xx', async () => {
      const other = await readyCustomer(running, 'other-book@example.com');
      const customer = await readyCustomer(running, 'fuzzy@example.com');
      const good = {
        asset: 'BTC',
        network: 'bitcoin',
        amount: '0.1',
        destination_id: customer.destinationId,
      };
      const badRequests: [Record<string, unknown>, RegExp][] = [
        [{ ...good, amount: '0.123456789' }, /amount/],
        [{ ...good, amount: '0' }, /amount/],
        [{ ...good, amount: '-1' }, /amount/],
        [{ ...good, amount: '1e-3' }, /amount/],
        [{ ...good, amount: '0x10' }, /amount/],
        [{ ...good, amount: '' }, /amount/],
        [{ ...good, amount: 0.1 }, /amount/],
        [{ ...good, amount: '1'.repeat(70) }, /amount/],
        [{ ...good, destination_id: other.destinationId }, /destination_id/],
        [{ ...good, network: 'ethereum' }, /network|destination_id/],
        [{ ...good, network: 'dogecoin' }, /network/],
        [{ ...good, asset: 'DOGE' }, /asset/],
        [{ ...good, memo: 'pay twice' }, /memo/],
        [{ asset: 'BTC', network: 'bitcoin', amount: '0.1' }, /destination_id/],
      ];
      for (const [body, field] of badRequests) {
        const response = await api(running, 'POST', '/v1/withdrawals', { token: customer.token, body });
        assert.equal(response.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
        assert.match(response.body.field ?? '', field, JSON.stringify(response.body));
      }
      assert.equal(await withdrawalCount(customer.email), 0);

      const w = await requested(customer);
      const confirmPath = `/v1/withdrawals/${w.id}/confirm`;
      const badProofs: [unknown, RegExp][] = [
        [{}, /proof/],
        [{ proof: 'totp' }, /proof/],
        [{ proof: { method: 'sms', code: '123456' } }, /proof\/method/],
        [{ proof: { method: 'totp' } }, /proof\/code/],
        [{ proof: { method: 'totp', code: '123456', extra: 1 } }, /proof\/extra/],
        [{ proof: { method: 'passkey' } }, /proof\/challenge_id/],
        [{ proof: { method: 'passkey', challenge_id: 'x', response: 'garbage' } }, /proof\/response/],
        [{ proof: { method: 'passkey', challenge_id: 'x', response: { id: 'abc' } } }, /proof\/response/],
        [{ proof: { method: 'totp', code: '123456' }, amount: '0.2' }, /amount/],
      ];
      for (const [body, field] of badProofs) {
        const response = await api(running, 'POST', confirmPath, { token: customer.token, body });
        assert.equal(response.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
        assert.match(response.body.field ?? '', field, JSON.stringify(response.body));
      }
      const huge = {
        proof: {
          method: 'passkey',
          challenge_id: 'x',
          response: { id: 'abc', response: { clientDataJSON: 'A'.repeat(70_000) } },
        },
      };
      const tooLarge = await api(running, 'POST', confirmPath, { token: customer.token, body: huge });
      assert.equal(tooLarge.status, 413, JSON.stringify(tooLarge.body));
      const cancelWithJunk = await api(running, 'POST', `/v1/withdrawals/${w.id}/cancel`, {
        token: customer.token,
        body: { force: true },
      });
      assert.equal(cancelWithJunk.status, 400, JSON.stringify(cancelWithJunk.body));
      assert.match(cancelWithJunk.body.field, /force/);

      const row = await withdrawalRow(running, w.id);
      assert.equal(row.state, 'awaiting_confirmation');
      assert.equal(row.confirm_failures, 0);
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 0);
      assert.equal(await withdrawalCount(customer.email), 1);
      assert.equal((await confirmTotp(running, customer, w.id)).status, 200, 'still confirmable');
    });
  });
}
