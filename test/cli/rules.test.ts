import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

function json(result: CliResult) {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

const HARD = [
  { predicate: 'destination_cooled', action: 'time_lock' },
  { predicate: 'security_change_lock', action: 'time_lock' },
];

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge rules on ${engine}`, () => {
    test('create --file, a refused file naming the field, shadow, activate --yes, list, show, disagreements', async () => {
      const fresh = await freshDatabase(engine);
      const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
      try {
        const analyst = await cliOperator(cliContext(fresh.database), 'risk_analyst');
        const env = { ...fresh.env, ...CLI_KEYS, ...analyst.env };
        const bad = join(dir, 'bad.json');
        writeFileSync(
          bad,
          JSON.stringify({
            rules: [...HARD, { predicate: 'fan_in', action: 'reject', params: { min_accounts: 3 } }],
          }),
        );
        const refused = await runCli(['rules', 'create', '--file', bad], env);
        assert.equal(refused.code, 2, refused.stderr);
        assert.equal(JSON.parse(refused.stderr.trim()).field, 'rules/2/params/window_seconds');
        const good = join(dir, 'good.json');
        writeFileSync(
          good,
          JSON.stringify({
            description: 'cli',
            rules: [
              ...HARD,
              { predicate: 'fan_in', action: 'reject', params: { min_accounts: 3, window_seconds: 600 } },
            ],
          }),
        );
        const created = json(await runCli(['rules', 'create', '--file', good], env));
        assert.equal(created.state, 'draft');
        assert.equal(json(await runCli(['rules', 'list'], env)).in_force.id, 'builtin');
        assert.equal(json(await runCli(['rules', 'shadow', created.id], env)).state, 'shadow');
        const unconfirmed = await runCli(['rules', 'activate', created.id], env);
        assert.equal(unconfirmed.code, 2, 'activating asks for --yes without a terminal');
        const own = await runCli(['rules', 'activate', created.id, '--yes'], env);
        assert.notEqual(own.code, 0, 'its author cannot activate it');
        assert.equal(JSON.parse(own.stderr.trim()).error, 'SAME_OPERATOR', own.stderr);
        const checker = await cliOperator(cliContext(fresh.database), 'risk_analyst');
        const checkerEnv = { ...fresh.env, ...CLI_KEYS, ...checker.env };
        assert.equal(
          json(await runCli(['rules', 'activate', created.id, '--yes'], checkerEnv)).state,
          'active',
        );
        const listed = json(await runCli(['rules', 'list'], env));
        assert.equal(listed.in_force.id, created.id);
        assert.equal(json(await runCli(['rules', 'show', created.id], env)).config.rules.length, 3);
        assert.deepEqual(json(await runCli(['rules', 'disagreements', created.id], env)).disagreements, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await fresh.drop();
      }
    });
  });
}
