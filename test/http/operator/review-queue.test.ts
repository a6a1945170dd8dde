import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUsd } from '../../../src/core/money/usd.ts';
import { approveReview } from '../../../src/services/withdrawals/review-queue.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { moveWithdrawal } from '../../../src/store/withdrawals.ts';
import { api, auditEntries, forgetRateLimits, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import {
  balanceOf,
  confirmTotp,
  type ReadyCustomer,
  readyCustomer,
  requestBtc,
  withdrawalRow,
} from '../../support/withdrawals.ts';

let made = 0;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the review queue and the two-analyst threshold, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    /** A customer's withdrawal of `amount` BTC (at USD 60,000), held for review: 0.9 BTC is over the daily limit. */
    async function held(amount = '0.9', options: { unpriced?: boolean } = {}) {
      await forgetRateLimits(running);
      made += 1;
      const customer = await readyCustomer(running, `review-${made}@example.com`, '2');
      if (options.unpriced === true)
        await fresh.database.db.deleteFrom('price_points').where('asset', '=', 'BTC').execute();
      const requested = await requestBtc(running, customer, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const confirmed = await confirmTotp(running, customer, requested.body.id);
      assert.equal(confirmed.body.state, 'held_for_review', JSON.stringify(confirmed.body));
      return { customer, id: confirmed.body.id as string };
    }

    async function operators(...roles: ('support' | 'risk_analyst' | 'incident_commander' | 'admin')[]) {
      const list = [];
      for (const role of roles) {
        made += 1;
        list.push(await operatorWithSession(running, `review-op-${made}@ops.example`, role));
      }
      return list;
    }

    const approve = (token: string, id: string, reason = 'customer confirmed by phone') =>
      api(running, 'POST', `/v1/operator/review-queue/${id}/approve`, { token, body: { reason } });

    test('above the threshold: one approval leaves it held "1 of 2", the same analyst again is refused (service and database), a second analyst queues it', async () => {
      const { id } = await held('0.9');
      assert.equal((await withdrawalRow(running, id)).usd_value, '54000');
      const [first, second] = await operators('risk_analyst', 'risk_analyst');
      assert.ok(first && second);

      const one = await approve(first.token, id);
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.state, 'held_for_review');
      assert.equal(one.body.review.status, '1 of 2 approvals');
      assert.equal(one.body.review.approvals_required, 2);
      assert.equal(one.body.review.threshold_usd, '10000.00');
      assert.deepEqual(
        one.body.review.approvals.map((a: { operator_id: string }) => a.operator_id),
        [first.id],
      );
      assert.equal((await withdrawalRow(running, id)).state, 'held_for_review');

      const again = await approve(first.token, id, 'really sure');
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.equal(again.body.code, 'SAME_OPERATOR');
      assert.equal((await withdrawalRow(running, id)).state, 'held_for_review');

      // The database refuses it as well, whoever writes around the service.
      const approvals = await fresh.database.db
        .selectFrom('review_approvals')
        .selectAll()
        .where('withdrawal_id', '=', id)
        .execute();
      assert.equal(approvals.length, 1);
      const existing = approvals[0];
      assert.ok(existing);
      await assert.rejects(
        fresh.database.db
          .insertInto('review_approvals')
          .values({ ...existing, id: '01a23ab8-0000-7000-8000-000000000001', reason: 'forged second' })
          .execute(),
        /unique|duplicate/i,
      );

      const before = (await withdrawalRow(running, id)).release_after;
      const two = await approve(second.token, id, 'second look: fine');
      assert.equal(two.status, 200, JSON.stringify(two.body));
      assert.equal(two.body.state, 'queued');
      assert.equal(two.body.review.status, '2 of 2 approvals');
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'queued');
      assert.notEqual(row.release_after, before);
      assert.ok((row.release_after ?? '') > running.clock.now().toISOString(), 'a fresh cancel window');

      const recorded = await auditEntries(running, 'withdrawal.review_approval');
      assert.deepEqual(
        recorded.filter((e) => e.subject === `withdrawal:${id}`).map((e) => e.actor),
        [`operator:${first.id}`, `operator:${second.id}`],
      );
      const released = (await auditEntries(running, 'withdrawal.review_approved')).find(
        (e) => e.subject === `withdrawal:${id}`,
      );
      assert.ok(released);
      assert.deepEqual(JSON.parse(String(released.data)).approved_by, [
        `operator:${first.id}`,
        `operator:${second.id}`,
      ]);
      // The operator's view of its history has both approvals, then the move they made.
      const view = await api(running, 'GET', `/v1/operator/withdrawals/${id}`, { token: second.token });
      assert.equal(view.status, 200, JSON.stringify(view.body));
      const tail = view.body.history
        .slice(-3)
        .map((h: { actor: string; to_state: string }) => [h.actor, h.to_state]);
      assert.deepEqual(tail, [
        [`operator:${first.id}`, 'held_for_review'],
        [`operator:${second.id}`, 'held_for_review'],
        [`operator:${second.id}`, 'queued'],
      ]);
    });

    test('an admin is one person: the same admin twice is refused; the old review route follows the same rule', async () => {
      const { id } = await held('0.9');
      const [admin, analyst] = await operators('admin', 'risk_analyst');
      assert.ok(admin && analyst);
      const one = await api(running, 'POST', `/v1/operator/withdrawals/${id}/review`, {
        token: admin.token,
        body: { decision: 'approve', reason: 'looks right' },
      });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.state, 'held_for_review');
      assert.equal(one.body.review.status, '1 of 2 approvals');
      const twice = await approve(admin.token, id, 'still looks right');
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 'SAME_OPERATOR');
      const done = await api(running, 'POST', `/v1/operator/withdrawals/${id}/review`, {
        token: analyst.token,
        body: { decision: 'approve', reason: 'agreed' },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.state, 'queued');
    });

    test('a withdrawal held again after it was approved needs fresh approvals, and may get them from the same analysts', async () => {
      const { id } = await held('0.9');
      const [first, second] = await operators('risk_analyst', 'risk_analyst');
      assert.ok(first && second);
      assert.equal((await approve(first.token, id)).status, 200);
      assert.equal((await approve(second.token, id)).body.state, 'queued');
      // Held again (as the releaser does when, say, the account is locked before release): a second hold.
      await inTransaction(fresh.database, (tx) =>
        moveWithdrawal(tx, {
          id,
          from: 'queued',
          path: [{ to: 'held_for_review', actor: 'system:releaser', reason: 'the account is locked' }],
          at: running.clock.now().toISOString(),
        }),
      );
      const again = await approve(first.token, id, 'checked again');
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.state, 'held_for_review');
      assert.equal(again.body.review.status, '1 of 2 approvals');
      const twice = await approve(first.token, id, 'checked again, twice');
      assert.equal(twice.body.code, 'SAME_OPERATOR');
      assert.equal((await approve(second.token, id, 'and again')).body.state, 'queued');
    });

    test('an unpriced withdrawal counts as above the threshold (fail closed)', async () => {
      const { id } = await held('0.01', { unpriced: true });
      assert.equal((await withdrawalRow(running, id)).usd_value, null);
      const [analyst] = await operators('risk_analyst');
      assert.ok(analyst);
      const one = await approve(analyst.token, id);
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.state, 'held_for_review');
      assert.equal(one.body.review.unpriced, true);
      assert.equal(one.body.review.approvals_required, 2);
    });

    test('at or below the threshold one approval queues it (REVIEW_TWO_ANALYST_USD read from the context)', async () => {
      const { id } = await held('0.9');
      const [analyst] = await operators('risk_analyst');
      assert.ok(analyst);
      const actor = { kind: 'operator', id: analyst.id, role: 'risk_analyst' } as const;
      // Exactly at the threshold is not above it.
      const atThreshold = {
        ...running.context,
        withdrawals: { ...running.context.withdrawals, reviewTwoAnalystUsd: parseUsd('54000') },
      };
      const done = await approveReview(atThreshold, actor, id, { reason: 'within my authority' });
      assert.equal(done.state, 'queued');
      assert.equal(done.review.status, '1 of 1 approval');
      assert.equal((await withdrawalRow(running, id)).state, 'queued');

      const { id: other } = await held('0.9');
      const justBelow = {
        ...running.context,
        withdrawals: { ...running.context.withdrawals, reviewTwoAnalystUsd: parseUsd('53999.99') },
      };
      const first = await approveReview(justBelow, actor, other, { reason: 'within my authority' });
      assert.equal(first.state, 'held_for_review', 'a cent above the threshold needs two');
    });

    test('support may not approve or reject; a reject by one analyst ends it even after an approval, and voids the hold', async () => {
      const { id, customer } = await held('0.9');
      const [support, first, second] = await operators('support', 'risk_analyst', 'risk_analyst');
      assert.ok(support && first && second);
      const refused = await approve(support.token, id);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'FORBIDDEN');
      const notRejected = await api(running, 'POST', `/v1/operator/review-queue/${id}/reject`, {
        token: support.token,
        body: { reason: 'no' },
      });
      assert.equal(notRejected.status, 403);
      const none = await fresh.database.db
        .selectFrom('review_approvals')
        .select('id')
        .where('withdrawal_id', '=', id)
        .execute();
      assert.deepEqual(none, []);

      assert.equal((await approve(first.token, id)).status, 200);
      const rejected = await api(running, 'POST', `/v1/operator/review-queue/${id}/reject`, {
        token: second.token,
        body: { reason: 'the customer did not ask for it' },
      });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      assert.equal(rejected.body.state, 'rejected');
      assert.deepEqual(await balanceOf(running, (customer as ReadyCustomer).token), {
        available: '2',
        held: '0',
      });
      const late = await approve(second.token, id);
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'WRONG_STATE');
    });

    test('the queue: every held withdrawal, longest held first, paged, with rules, USD value and approvals; bad input is a 4xx naming the field', async () => {
      // Whatever earlier tests left held is in the queue too; clear it so the order is this test's.
      await fresh.database.db
        .updateTable('withdrawals')
        .set({ state: 'cancelled' })
        .where('state', '=', 'held_for_review')
        .execute();
      const a = await held('0.9');
      const b = await held('0.95');
      const c = await held('0.01', { unpriced: true });
      const [analyst] = await operators('risk_analyst');
      assert.ok(analyst);
      await approve(analyst.token, b.id);

      const page1 = await api(running, 'GET', '/v1/operator/review-queue?limit=2', { token: analyst.token });
      assert.equal(page1.status, 200, JSON.stringify(page1.body));
      assert.deepEqual(
        page1.body.withdrawals.map((w: { id: string }) => w.id),
        [a.id, b.id],
      );
      assert.equal(page1.body.has_more, true);
      const first = page1.body.withdrawals[0];
      assert.equal(first.usd_value, '54000');
      assert.equal(first.price.usd, '60000');
      // The facts the rules decided on, as the active (here the built-in) rule set's evaluation recorded them.
      assert.equal(first.facts.rule_set.id, 'builtin');
      assert.equal(typeof first.facts.facts.usdValue, 'string');
      assert.equal(first.facts.facts.firstUse, true);
      assert.ok(first.held_since);
      const daily = first.rules.find((r: { rule: string }) => r.rule === 'daily_usd_limit');
      assert.equal(daily.outcome, 'review');
      assert.match(daily.reason, /over the daily limit/);
      assert.equal(page1.body.withdrawals[1].review.status, '1 of 2 approvals');
      assert.equal(page1.body.withdrawals[1].review.approvals[0].operator_id, analyst.id);

      const page2 = await api(running, 'GET', `/v1/operator/review-queue?limit=2&starting_after=${b.id}`, {
        token: analyst.token,
      });
      assert.equal(page2.status, 200, JSON.stringify(page2.body));
      assert.deepEqual(
        page2.body.withdrawals.map((w: { id: string }) => w.id),
        [c.id],
      );
      assert.equal(page2.body.has_more, false);
      assert.equal(page2.body.withdrawals[0].review.unpriced, true);

      const shown = await api(running, 'GET', `/v1/operator/review-queue/${b.id}`, { token: analyst.token });
      assert.equal(shown.status, 200);
      assert.equal(shown.body.review.approvals.length, 1);

      const badLimit = await api(running, 'GET', '/v1/operator/review-queue?limit=0', {
        token: analyst.token,
      });
      assert.equal(badLimit.status, 400);
      assert.equal(badLimit.body.field, '/query/limit');
      const unknownCursor = await api(
        running,
        'GET',
        '/v1/operator/review-queue?starting_after=01a23ab8-0000-7000-8000-0000000000ff',
        { token: analyst.token },
      );
      assert.equal(unknownCursor.status, 400);
      assert.equal(unknownCursor.body.field, '/query/starting_after');
      const unknown = await approve(analyst.token, '01a23ab8-0000-7000-8000-0000000000ff');
      assert.equal(unknown.status, 404);
      const short = await approve(analyst.token, a.id, 'ok');
      assert.equal(short.status, 400);
      assert.equal(short.body.field, '/body/reason');
      const long = await approve(analyst.token, a.id, 'x'.repeat(501));
      assert.equal(long.status, 400);
      assert.equal(long.body.field, '/body/reason');
    });
  });
}
