import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLI_KEYS, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { forgetRateLimits } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import { confirmTotp, readyCustomer, requestBtc, withdrawalRow } from '../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge withdrawal review, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    test('a risk analyst approves a held withdrawal from the CLI, audited as themselves; support may not; bad flags change nothing', async () => {
      await forgetRateLimits(running);
      const customer = await readyCustomer(running, 'cli-review@example.com');
      await fresh.database.db.deleteFrom('price_points').where('asset', '=', 'BTC').execute();
      const requested = await requestBtc(running, customer, '0.1');
      const held = await confirmTotp(running, customer, requested.body.id);
      assert.equal(held.body.state, 'held_for_review', JSON.stringify(held.body));
      const id = held.body.id as string;
      const context = cliContext(fresh.database);
      const env = (operator: { env: Record<string, string> }) => ({
        ...fresh.env,
        ...CLI_KEYS,
        ...operator.env,
      });

      const both = await runCli(
        ['withdrawal', 'review', id, '--approve', '--reject', '--reason', 'both'],
        env({ env: {} }),
      );
      assert.equal(both.code, 2, both.stderr);
      assert.match(both.stderr, /exactly one of --approve or --reject/);

      const support = await cliOperator(context, 'support');
      const refused = await runCli(
        ['withdrawal', 'review', id, '--approve', '--reason', 'looks fine'],
        env(support),
      );
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /FORBIDDEN/);
      assert.equal((await withdrawalRow(running, id)).state, 'held_for_review');

      const analyst = await cliOperator(context, 'risk_analyst');
      // Unpriced counts as above the two-analyst threshold: the first approval leaves it held.
      const first = await cliOperator(context, 'risk_analyst');
      const once = await runCli(
        ['withdrawal', 'review', id, '--approve', '--reason', 'looks right to me'],
        env(first),
      );
      assert.equal(once.code, 0, once.stderr);
      assert.equal(JSON.parse(once.stdout).state, 'held_for_review');
      assert.equal(JSON.parse(once.stdout).review.status, '1 of 2 approvals');
      const approved = await runCli(
        ['withdrawal', 'review', id, '--approve', '--reason', 'customer confirmed by phone'],
        env(analyst),
      );
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(JSON.parse(approved.stdout).state, 'queued');
      const events = await fresh.database.db
        .selectFrom('withdrawal_events')
        .select(['actor', 'reason', 'to_state'])
        .where('withdrawal_id', '=', id)
        .where('to_state', '=', 'queued')
        .execute();
      assert.deepEqual(events, [
        { actor: `operator:${analyst.id}`, reason: 'customer confirmed by phone', to_state: 'queued' },
      ]);
      const again = await runCli(
        ['withdrawal', 'review', id, '--reject', '--reason', 'too late'],
        env(analyst),
      );
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /WRONG_STATE/);
    });
  });
}
