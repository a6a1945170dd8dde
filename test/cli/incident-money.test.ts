import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import { seedAffected, seedIncident } from '../support/incidents.ts';

function json(result: CliResult) {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge incident losses|reimburse|report|treasury on ${engine}`, () => {
    test('two operators reimburse through the CLI; the requester cannot approve; without credentials nothing runs', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const context = cliContext(fresh.database);
        const [first, second, admin] = [
          await cliOperator(context, 'incident_commander'),
          await cliOperator(context, 'incident_commander'),
          await cliOperator(context, 'admin'),
        ];
        const as = (op: { env: Record<string, string> }) => ({ ...fresh.env, ...CLI_KEYS, ...op.env });
        const incident = await seedIncident(context, { title: 'CLI <b>incident</b>' });
        await seedAffected(context, incident, {
          asset: 'BTC',
          network: 'bitcoin',
          amount: 50_000_000n,
          fee: 1_000n,
          state: 'completed',
          usdPrice: '40000',
        });
        const [anonymous, funded] = await Promise.all([
          runCli(['incident', 'reimburse', 'request', incident, '--reason', 'no credentials'], {
            ...fresh.env,
            ...CLI_KEYS,
          }),
          runCli(
            ['incident', 'treasury', 'fund', '--asset', 'BTC', '--amount', '1', '--reason', 'reserve'],
            as(admin),
          ),
        ]);
        assert.equal(anonymous.code, 3, anonymous.stderr);
        assert.equal(json(funded).available, '1');
        const request = json(
          await runCli(
            ['incident', 'reimburse', 'request', incident, '--reason', 'phished customer'],
            as(first),
          ),
        );
        const own = await runCli(['incident', 'reimburse', 'approve', incident, request.id], as(first));
        assert.notEqual(own.code, 0);
        assert.match(own.stderr, /SAME_OPERATOR/);
        assert.equal(
          json(await runCli(['incident', 'reimburse', 'approve', incident, request.id], as(second))).status,
          'approved',
        );
        const paid = json(
          await runCli(['incident', 'reimburse', 'pay', incident, request.id, '--batch', '1'], as(second)),
        );
        assert.deepEqual([paid.paid, paid.remaining], [1, 0]);
        const report = await runCli(['incident', 'report', incident, '--format', 'md'], as(first));
        assert.equal(report.code, 0, report.stderr);
        assert.match(report.stdout, /^# Incident report: CLI \\<b\\>incident\\<\/b\\>/);
        assert.match(report.stdout, /\| Reimbursed to customers, USD \| 20000\.40 \|/);
      } finally {
        await fresh.drop();
      }
    });
  });
}
