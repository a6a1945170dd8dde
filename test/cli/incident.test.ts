import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { sql } from 'kysely';
import { bulkAccountId, seedBulkAccounts } from '../../bench/support-bulk-accounts.ts';
import { openIncident } from '../../src/services/incidents/incidents.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import type { Database } from '../../src/store/database.ts';
import { actingAs } from '../support/actors.ts';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { insertAwaitingWithdrawals } from '../support/in-flight.ts';

/** Enough that a batch of 10 is far from the end when the kill lands; the resumed run takes bigger batches. */
const IN_FLIGHT = 600;

function json(result: CliResult) {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

/** `drawbridge incident contain …` killed with SIGKILL once it has said it committed its first batch. */
function containKilledMidway(args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/drawbridge.mjs', ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (/contain: \d+ cancelled/.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => resolve(stderr));
  });
}

async function count(database: Database, query: ReturnType<typeof sql<{ n: number | string }>>) {
  const result = await query.execute(database.db);
  return Number(result.rows[0]?.n ?? 0);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge incident on ${engine}`, (on) => {
    const fresh = on.database();

    test('contain survives SIGKILL mid-way: resumed from its cursor, nothing cancelled twice, a second run changes nothing', async () => {
      const context = cliContext(fresh.database);
      await seedBulkAccounts(fresh.database, 0, 1, context.clock.now());
      await insertAwaitingWithdrawals(fresh.database, {
        accountId: bulkAccountId(0),
        count: IN_FLIGHT,
        at: context.clock.now(),
      });
      const commander = await cliOperator(context, 'incident_commander');
      const env = { ...fresh.env, ...CLI_KEYS, ...commander.env };
      const incident = await openIncident(context, actingAs('admin'), {
        title: 'Forged approvals',
        severity: 'critical',
      });

      const anonymous = await runCli(['incident', 'contain', incident.id, '--all', '--yes'], {
        ...fresh.env,
        ...CLI_KEYS,
      });
      assert.equal(anonymous.code, 3, `without an operator's credentials nothing runs: ${anonymous.stderr}`);

      const args = ['incident', 'contain', incident.id, '--all', '--batch-size', '10', '--yes'];
      const killed = await containKilledMidway(args, env);
      assert.match(killed, /contain: \d+ cancelled/);
      const job = await fresh.database.db
        .selectFrom('incident_containments')
        .selectAll()
        .where('incident_id', '=', incident.id)
        .executeTakeFirstOrThrow();
      const cancelled = await count(
        fresh.database,
        sql`select count(*) as n from withdrawals where state = 'cancelled'`,
      );
      assert.equal(
        cancelled,
        job.cancelled,
        'every committed batch moved the cursor with its cancels, nothing more',
      );
      assert.ok(job.status === 'running' && cancelled < IN_FLIGHT, `killed mid-way: ${JSON.stringify(job)}`);

      const resumed = await runCli([...args.slice(0, -2), '200', '--yes'], env);
      const done = json(resumed);
      assert.match(resumed.stderr, new RegExp(`resuming ${job.id}`));
      assert.equal(done.id, job.id);
      assert.equal(done.status, 'done');
      assert.equal(done.cancelled, IN_FLIGHT);
      assert.equal(
        await count(fresh.database, sql`select count(*) as n from withdrawals where state <> 'cancelled'`),
        0,
        'nothing left in flight',
      );
      await sealAudit(fresh.database);
      const audited = await count(
        fresh.database,
        sql`select count(*) as n from audit_log where action = 'withdrawal.cancelled'`,
      );
      assert.equal(audited, IN_FLIGHT, 'each withdrawal cancelled exactly once');

      const again = json(await runCli(args, env));
      assert.notEqual(again.id, job.id);
      assert.equal(again.cancelled, 0, 'a second run changes nothing');
    });

    test('halt, resume request and approve: the requester cannot approve; another commander can; support cannot halt', async () => {
      const context = cliContext(fresh.database);
      const first = await cliOperator(context, 'incident_commander');
      const second = await cliOperator(context, 'incident_commander');
      const support = await cliOperator(context, 'support');
      const env = (who: { env: Record<string, string> }) => ({ ...fresh.env, ...CLI_KEYS, ...who.env });

      const opened = json(
        await runCli(['incident', 'open', '--title', 'Bypass', '--severity', 'critical'], env(first)),
      );
      const refused = await runCli(
        ['incident', 'halt', opened.id, '--global', '--reason', 'stop'],
        env(support),
      );
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /FORBIDDEN/);
      const halted = json(
        await runCli(['incident', 'halt', opened.id, '--global', '--reason', 'stop'], env(first)),
      );
      assert.equal(halted.incident_id, opened.id);
      const requested = json(
        await runCli(['incident', 'resume', 'request', opened.id, '--reason', 'bypass closed'], env(first)),
      );
      const self = await runCli(
        ['incident', 'resume', 'approve', opened.id, requested.id, '--yes'],
        env(first),
      );
      assert.equal(self.code, 2, self.stderr);
      assert.match(self.stderr, /SAME_OPERATOR/);
      const approved = json(
        await runCli(['incident', 'resume', 'approve', opened.id, requested.id, '--yes'], env(second)),
      );
      assert.equal(approved.lifted, 1);
      const shown = json(await runCli(['incident', 'show', opened.id], env(support)));
      assert.equal(shown.downtime.active, 0);
      assert.equal(shown.downtime.resume_requests[0].approved_by, `operator:${second.id}`);
    });
  });
}
