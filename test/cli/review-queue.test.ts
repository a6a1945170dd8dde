import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLI_KEYS, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { forgetRateLimits } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import { confirmTotp, readyCustomer, requestBtc, withdrawalRow } from '../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge review, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    test('list, show, two different analysts approve above the threshold, the same one twice is refused, reject ends one; support may not', async () => {
      await forgetRateLimits(running);
      const customer = await readyCustomer(running, 'cli-queue@example.com', '3');
      const heldOne = async (amount: string) => {
        const requested = await requestBtc(running, customer, amount);
        const held = await confirmTotp(running, customer, requested.body.id);
        assert.equal(held.body.state, 'held_for_review', JSON.stringify(held.body));
        return held.body.id as string;
      };
      const big = await heldOne('0.9');
      const other = await heldOne('0.01');
      const context = cliContext(fresh.database);
      const env = (operator: { env: Record<string, string> }) => ({
        ...fresh.env,
        ...CLI_KEYS,
        ...operator.env,
      });
      const first = await cliOperator(context, 'risk_analyst');
      const second = await cliOperator(context, 'risk_analyst');
      const support = await cliOperator(context, 'support');

      const listed = await runCli(['review', 'list'], env(support));
      assert.equal(listed.code, 0, listed.stderr);
      const queue = JSON.parse(listed.stdout);
      assert.deepEqual(
        queue.withdrawals.map((w: { id: string }) => w.id),
        [big, other],
      );
      assert.equal(queue.withdrawals[0].review.status, '0 of 2 approvals');

      const refused = await runCli(['review', 'approve', big, '--reason', 'looks fine'], env(support));
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /FORBIDDEN/);

      const noReason = await runCli(['review', 'approve', big], env(first));
      assert.equal(noReason.code, 2, noReason.stderr);

      const one = await runCli(['review', 'approve', big, '--reason', 'phoned the customer'], env(first));
      assert.equal(one.code, 0, one.stderr);
      assert.equal(JSON.parse(one.stdout).state, 'held_for_review');
      assert.equal(JSON.parse(one.stdout).review.status, '1 of 2 approvals');

      const twice = await runCli(['review', 'approve', big, '--reason', 'phoned again'], env(first));
      assert.equal(twice.code, 2, twice.stderr);
      assert.match(twice.stderr, /SAME_OPERATOR/);

      const shown = await runCli(['review', 'show', big], env(second));
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(JSON.parse(shown.stdout).review.approvals[0].operator_id, first.id);

      const two = await runCli(['review', 'approve', big, '--reason', 'second look: fine'], env(second));
      assert.equal(two.code, 0, two.stderr);
      assert.equal(JSON.parse(two.stdout).state, 'queued');
      assert.equal((await withdrawalRow(running, big)).state, 'queued');

      const rejected = await runCli(['review', 'reject', other, '--reason', 'not the customer'], env(first));
      assert.equal(rejected.code, 0, rejected.stderr);
      assert.equal(JSON.parse(rejected.stdout).state, 'rejected');

      const badId = await runCli(['review', 'show', 'nope'], env(first));
      assert.equal(badId.code, 2, badId.stderr);
      assert.match(badId.stderr, /INVALID_INPUT/);
    });
  });
}
