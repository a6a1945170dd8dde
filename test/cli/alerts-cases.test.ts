import assert from 'node:assert/strict';
import { test } from 'node:test';
import { raiseAlert } from '../../src/services/alerts.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { CLI_KEYS, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge alerts and cases, on ${engine}`, (on) => {
    const fresh = on.database();

    test('alerts list|show|ack|resolve and cases open|link|note|close|show as the signed-in operator; support reads but may not act', async () => {
      const context = cliContext(fresh.database);
      const env = (operator: { env: Record<string, string> }) => ({
        ...fresh.env,
        ...CLI_KEYS,
        ...operator.env,
      });
      const { id: alertId } = await inTransaction(fresh.database, (tx) =>
        raiseAlert(tx, context, {
          kind: 'monitor.ledger_imbalance',
          severity: 'critical',
          fingerprint: 'ledger:BTC',
          title: 'The BTC ledger does not balance',
          details: { asset: 'BTC' },
        }),
      );
      const analyst = await cliOperator(context, 'risk_analyst');
      const support = await cliOperator(context, 'support');

      const listed = await runCli(
        ['alerts', 'list', '--severity', 'critical', '--state', 'open'],
        env(support),
      );
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        JSON.parse(listed.stdout).alerts.map((a: { id: string }) => a.id),
        [alertId],
      );
      const badState = await runCli(['alerts', 'list', '--state', 'closed'], env(support));
      assert.equal(badState.code, 2, badState.stderr);
      assert.match(badState.stderr, /"field":"state"/);

      const supportAck = await runCli(['alerts', 'ack', alertId], env(support));
      assert.equal(supportAck.code, 3, supportAck.stderr);
      assert.match(supportAck.stderr, /FORBIDDEN/);

      const early = await runCli(
        ['alerts', 'resolve', alertId, '--kind', 'benign', '--note', 'nothing to see'],
        env(analyst),
      );
      assert.equal(early.code, 2, early.stderr);
      assert.match(early.stderr, /WRONG_STATE/);
      const acked = await runCli(['alerts', 'ack', alertId], env(analyst));
      assert.equal(acked.code, 0, acked.stderr);
      assert.equal(JSON.parse(acked.stdout).state, 'acknowledged');
      const badKind = await runCli(
        ['alerts', 'resolve', alertId, '--kind', 'maybe', '--note', 'not sure'],
        env(analyst),
      );
      assert.equal(badKind.code, 2, badKind.stderr);
      assert.match(badKind.stderr, /"flag":"--kind"/);

      const opened = await runCli(['cases', 'open', '--title', 'BTC ledger imbalance'], env(analyst));
      assert.equal(opened.code, 0, opened.stderr);
      const caseId = JSON.parse(opened.stdout).id as string;
      const linked = await runCli(['cases', 'link', caseId, '--alert', alertId], env(analyst));
      assert.equal(linked.code, 0, linked.stderr);
      assert.deepEqual(JSON.parse(linked.stdout).alert_ids, [alertId]);
      const neither = await runCli(['cases', 'link', caseId], env(analyst));
      assert.equal(neither.code, 2, neither.stderr);
      const noted = await runCli(['cases', 'note', caseId, '--note', 'a hold posted twice'], env(analyst));
      assert.equal(noted.code, 0, noted.stderr);

      const resolved = await runCli(
        ['alerts', 'resolve', alertId, '--kind', 'true_positive', '--note', 'double post, see the case'],
        env(analyst),
      );
      assert.equal(resolved.code, 0, resolved.stderr);
      assert.equal(JSON.parse(resolved.stdout).resolution_kind, 'true_positive');

      const closed = await runCli(['cases', 'close', caseId, '--note', 'ledger corrected'], env(analyst));
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(JSON.parse(closed.stdout).status, 'closed');
      const closedAgain = await runCli(
        ['cases', 'close', caseId, '--note', 'ledger corrected'],
        env(analyst),
      );
      assert.equal(closedAgain.code, 2, closedAgain.stderr);
      assert.match(closedAgain.stderr, /WRONG_STATE/);

      const shown = await runCli(['cases', 'show', caseId], env(support));
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(
        JSON.parse(shown.stdout).events.map((e: { kind: string }) => e.kind),
        ['opened', 'alert_linked', 'note', 'status_changed'],
      );
      const alertShown = await runCli(['alerts', 'show', alertId], env(support));
      assert.equal(alertShown.code, 0, alertShown.stderr);
      assert.equal(JSON.parse(alertShown.stdout).state, 'resolved');
    });
  });
}
