import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { osUser } from '../../src/cli/operator-auth.ts';
import { consoleName } from '../../src/services/identity/acting-operator.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import type { Database } from '../../src/store/database.ts';
import { insertPrincipal } from '../../src/store/identity/principals.ts';
import { CLI_KEYS, type CliResult, cliContext, cliOperator, runCli, totpNow } from '../support/cli.ts';
import { api } from '../support/customers.ts';
import { freshDatabase, testEngines } from '../support/engines.ts';
import { startApp } from '../support/http.ts';

function json(result: CliResult) {
  assert.equal(result.code, 0, `exit 0 expected: ${result.stdout} ${result.stderr}`);
  return JSON.parse(result.stdout.trim());
}

/** Not signed in, or not allowed: exit 3 and one JSON line on stderr. */
function refusedAuth(result: CliResult): { error: string; reason: string } {
  assert.equal(result.code, 3, `exit 3 expected: ${result.stdout} ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  return JSON.parse(lines[0]!);
}

async function count(
  database: Database,
  table: 'halts' | 'audit_log' | 'audit_journal' | 'webhook_endpoints',
) {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function auditOf(database: Database, actions: readonly string[]) {
  await sealAudit(database);
  return database.db
    .selectFrom('audit_log')
    .select(['action', 'actor', 'subject', 'data'])
    .where('action', 'in', actions)
    .orderBy('seq')
    .execute();
}

function dataOf(row: { data: unknown }): Record<string, unknown> {
  return (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as Record<string, unknown>;
}

for (const { engine, skip } of await testEngines()) {
  describe(`drawbridge as an operator on ${engine}`, { skip }, () => {
    test('support may not halt, on the CLI or the API (FORBIDDEN); an incident commander may, audited as themselves', async () => {
      const fresh = await freshDatabase(engine);
      const context = cliContext(fresh.database);
      const running = await startApp(fresh.database, { context });
      try {
        const support = await cliOperator(context, 'support');
        const commander = await cliOperator(context, 'incident_commander');
        const env = { ...fresh.env, ...CLI_KEYS };
        const haltArgs = ['halt', 'set', '--asset', 'BTC', '--reason', 'exchange hot wallet drained'];

        const cliRefusal = refusedAuth(await runCli(haltArgs, { ...env, ...support.env }));
        assert.equal(cliRefusal.error, 'FORBIDDEN');
        assert.match(
          cliRefusal.reason,
          /halt\.set needs one of the roles risk_analyst, incident_commander, admin/,
        );
        const apiRefusal = await api(running, 'POST', '/v1/operator/halts', {
          token: support.token,
          body: { scope: 'asset', asset: 'BTC', reason: 'exchange hot wallet drained' },
        });
        assert.equal(apiRefusal.status, 403, JSON.stringify(apiRefusal.body));
        assert.equal(apiRefusal.body.code, 'FORBIDDEN');
        assert.equal(apiRefusal.body.detail, cliRefusal.reason, 'one rule, one message, both edges');
        // Support reads: the same token lists the halts on both edges.
        assert.deepEqual(json(await runCli(['halt', 'list'], { ...env, ...support.env })), { halts: [] });
        assert.equal(await count(fresh.database, 'halts'), 0);

        const halt = json(await runCli(haltArgs, { ...env, ...commander.env }));
        assert.equal(halt.created_by, `operator:${commander.id}`);
        const liftedBySupport = refusedAuth(
          await runCli(['halt', 'lift', halt.id, '--yes'], { ...env, ...support.env }),
        );
        assert.equal(liftedBySupport.error, 'FORBIDDEN');
        const apiList = await api(running, 'GET', '/v1/operator/halts', { token: support.token });
        assert.deepEqual(
          apiList.body.halts.map((h: { id: string }) => h.id),
          [halt.id],
        );

        const audited = await auditOf(fresh.database, ['halt.set', 'halt.lifted']);
        assert.deepEqual(
          audited.map((a) => [a.action, a.actor, a.subject]),
          [['halt.set', `operator:${commander.id}`, `halt:${halt.id}`]],
        );
        assert.equal(dataOf(audited[0]!).severity, undefined, 'an operator halt is an ordinary entry');
      } finally {
        await running.close();
        await fresh.drop();
      }
    });

    test('email, password and TOTP from the environment: one session for the command, ended afterwards', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const context = cliContext(fresh.database);
        const commander = await cliOperator(context, 'incident_commander', { signIn: false });
        const env = {
          ...fresh.env,
          ...CLI_KEYS,
          DRAWBRIDGE_OPERATOR_EMAIL: commander.email,
          DRAWBRIDGE_OPERATOR_PASSWORD: commander.password,
        };
        const wrong = refusedAuth(
          await runCli(['halt', 'set', '--global', '--reason', 'wrong code'], {
            ...env,
            DRAWBRIDGE_OPERATOR_TOTP: '000000',
          }),
        );
        assert.equal(wrong.error, 'INVALID_CREDENTIALS');
        assert.equal(await count(fresh.database, 'halts'), 0);

        const halt = json(
          await runCli(['halt', 'set', '--global', '--reason', 'signed in at the prompt'], {
            ...env,
            DRAWBRIDGE_OPERATOR_TOTP: totpNow(commander.secret),
          }),
        );
        assert.equal(halt.created_by, `operator:${commander.id}`);
        const audited = await auditOf(fresh.database, ['login.succeeded', 'halt.set', 'session.logout']);
        assert.deepEqual(
          audited.map((a) => [a.action, a.actor]),
          [
            ['login.succeeded', `operator:${commander.id}`],
            ['halt.set', `operator:${commander.id}`],
            ['session.logout', `operator:${commander.id}`],
          ],
        );
        assert.equal(dataOf(audited[0]!).ip, 'cli');
        const sessions = await fresh.database.db
          .selectFrom('sessions')
          .select(['ended_at', 'ended_reason'])
          .where('principal_id', '=', commander.id)
          .execute();
        assert.equal(sessions.length, 1);
        assert.notEqual(sessions[0]!.ended_at, null, 'the command’s session does not outlive it');
      } finally {
        await fresh.drop();
      }
    });

    test('operator login prints a token for DRAWBRIDGE_OPERATOR_TOKEN; operator logout ends it', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const analyst = await cliOperator(cliContext(fresh.database), 'risk_analyst', { signIn: false });
        const env = { ...fresh.env, ...CLI_KEYS };
        const noPassword = refusedAuth(
          await runCli(['operator', 'login'], { ...env, DRAWBRIDGE_OPERATOR_EMAIL: analyst.email }),
        );
        assert.match(noPassword.reason, /^operator login runs as an operator: set DRAWBRIDGE_OPERATOR_EMAIL/);
        assert.doesNotMatch(noPassword.reason, /DRAWBRIDGE_OPERATOR_TOKEN/, 'login is how one gets a token');
        const session = json(
          await runCli(['operator', 'login'], {
            ...env,
            DRAWBRIDGE_OPERATOR_EMAIL: analyst.email,
            DRAWBRIDGE_OPERATOR_PASSWORD: analyst.password,
            DRAWBRIDGE_OPERATOR_TOTP: totpNow(analyst.secret),
          }),
        );
        assert.equal(session.operator_id, analyst.id);
        assert.equal(session.role, 'risk_analyst');
        const withToken = { ...env, DRAWBRIDGE_OPERATOR_TOKEN: session.token };
        const halt = json(
          await runCli(
            [
              'halt',
              'set',
              '--account',
              (
                await insertPrincipal(fresh.database.db, {
                  kind: 'customer',
                  email: 'halted-by-analyst@example.com',
                  passwordHash: 'unused',
                  role: null,
                  now: new Date().toISOString(),
                })
              ).id,
              '--reason',
              'review',
            ],
            withToken,
          ),
        );
        assert.equal(halt.created_by, `operator:${analyst.id}`, 'a risk analyst may halt');
        assert.equal(
          refusedAuth(await runCli(['halt', 'lift', halt.id, '--yes'], withToken)).error,
          'FORBIDDEN',
        );
        assert.deepEqual(json(await runCli(['operator', 'logout'], withToken)), {
          session_id: session.session_id,
          ended: true,
        });
        const ended = refusedAuth(await runCli(['halt', 'list'], withToken));
        assert.equal(ended.error, 'UNAUTHENTICATED');
        assert.match(ended.reason, /ended/);
      } finally {
        await fresh.drop();
      }
    });

    test('halt set --break-glass --reason halts without credentials, audited critical under break-glass:<os user>', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const env = { ...fresh.env, ...CLI_KEYS };
        const actor = `break-glass:${consoleName(osUser())}`;
        const noReason = await runCli(['halt', 'set', '--global', '--break-glass'], env);
        assert.equal(noReason.code, 2, noReason.stderr);
        assert.equal(JSON.parse(noReason.stderr.trim()).field, 'reason');
        const result = await runCli(
          ['halt', 'set', '--global', '--break-glass', '--reason', 'operators unreachable, funds leaving'],
          env,
        );
        const halt = json(result);
        assert.equal(halt.scope, 'global');
        assert.equal(halt.created_by, actor);
        assert.match(result.stderr, /break glass: .*audited as critical/);
        // Halting only: nothing else breaks glass.
        const lift = await runCli(['halt', 'lift', halt.id, '--break-glass'], env);
        assert.equal(lift.code, 2, 'lift has no --break-glass');
        assert.match(lift.stderr, /unknown option '--break-glass'/);
        const audited = await auditOf(fresh.database, ['halt.set', 'halt.lifted']);
        assert.equal(audited.length, 1);
        assert.equal(audited[0]!.actor, actor);
        assert.deepEqual(
          { severity: dataOf(audited[0]!).severity, break_glass: dataOf(audited[0]!).break_glass },
          { severity: 'critical', break_glass: true },
        );
        assert.equal(dataOf(audited[0]!).reason, 'operators unreachable, funds leaving');
      } finally {
        await fresh.drop();
      }
    });

    test('operator create: the first operator needs nobody; later ones need an admin', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const env = { ...fresh.env, ...CLI_KEYS };
        const first = json(
          await runCli(['operator', 'create', '--email', 'root@ops.example', '--role', 'admin'], env),
        );
        assert.equal(first.role, 'admin');

        const again = refusedAuth(
          await runCli(['operator', 'create', '--email', 'second@ops.example', '--role', 'support'], env),
        );
        assert.equal(again.error, 'UNAUTHENTICATED');
        assert.match(again.reason, /operators exist, so a new one is created by an admin/);

        const context = cliContext(fresh.database);
        const support = await cliOperator(context, 'support');
        const bySupport = refusedAuth(
          await runCli(['operator', 'create', '--email', 'second@ops.example', '--role', 'support'], {
            ...env,
            ...support.env,
          }),
        );
        assert.equal(bySupport.error, 'FORBIDDEN');

        const secret = new URL(first.otpauth_uri).searchParams.get('secret');
        assert.ok(secret);
        const second = json(
          await runCli(['operator', 'create', '--email', 'second@ops.example', '--role', 'support'], {
            ...env,
            DRAWBRIDGE_OPERATOR_EMAIL: 'root@ops.example',
            DRAWBRIDGE_OPERATOR_PASSWORD: first.password,
            DRAWBRIDGE_OPERATOR_TOTP: totpNow(secret),
          }),
        );
        assert.equal(second.email, 'second@ops.example');
        const audited = await auditOf(fresh.database, ['operator.created']);
        const bySubject = new Map(audited.map((a) => [a.subject, a.actor]));
        assert.equal(bySubject.get(`operator:${first.id}`), `bootstrap:${consoleName(osUser())}`);
        assert.equal(bySubject.get(`operator:${second.id}`), `operator:${first.id}`);
      } finally {
        await fresh.drop();
      }
    });

    test('a customer session in DRAWBRIDGE_OPERATOR_TOKEN is refused', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const context = cliContext(fresh.database);
        const { insertPrincipal } = await import('../../src/store/identity/principals.ts');
        const { issueSession } = await import('../../src/services/identity/sessions.ts');
        const { inTransaction } = await import('../../src/store/transaction.ts');
        const session = await inTransaction(fresh.database, async (tx) => {
          const customer = await insertPrincipal(tx, {
            kind: 'customer',
            email: 'customer@example.com',
            passwordHash: 'unused',
            role: null,
            now: context.clock.now().toISOString(),
          });
          return issueSession(tx, context, customer, 2, null, { ip: '127.0.0.1', userAgent: 'test' });
        });
        const refusal = refusedAuth(
          await runCli(['halt', 'list'], {
            ...fresh.env,
            ...CLI_KEYS,
            DRAWBRIDGE_OPERATOR_TOKEN: session.token,
          }),
        );
        assert.equal(refusal.error, 'FORBIDDEN');
        assert.match(refusal.reason, /customer session, not an operator's/);
      } finally {
        await fresh.drop();
      }
    });
  });
}

// Credentials are read before the database is opened, so one engine shows the refusal.
describe('drawbridge without operator credentials', () => {
  test('without credentials every state-changing command exits 3 naming what is missing, and changes nothing', async () => {
    const fresh = await freshDatabase('sqlite');
    try {
      const env = {
        ...fresh.env,
        ...CLI_KEYS,
        WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com',
        DRAWBRIDGE_OPERATOR_EMAIL: 'someone@ops.example',
      };
      const before =
        (await count(fresh.database, 'audit_log')) + (await count(fresh.database, 'audit_journal'));
      const results = await Promise.all(
        [
          ['halt', 'set', '--global', '--reason', 'no credentials'],
          ['halt', 'lift', 'some-halt'],
          ['halt', 'list'],
          ['revoke', 'sessions', '--all'],
          ['revoke', 'mfa', '--all'],
          ['deposit', 'record', ...['--account', 'a', '--asset', 'BTC', '--network', 'bitcoin']].concat([
            '--amount',
            '1',
            '--txid',
            'abcdef0123',
            '--vout',
            '0',
          ]),
          ['webhook', 'add', '--url', 'https://hooks.example.com/x', '--events', '*'],
          ['webhook', 'list'],
        ].map((args) => runCli(args, env)),
      );
      for (const result of results) {
        const refusal = refusedAuth(result);
        assert.equal(refusal.error, 'UNAUTHENTICATED');
        assert.match(refusal.reason, /runs as an operator: set DRAWBRIDGE_OPERATOR_TOKEN/);
        assert.match(
          refusal.reason,
          /\(missing: DRAWBRIDGE_OPERATOR_PASSWORD, DRAWBRIDGE_OPERATOR_TOTP\)/,
          'the email was given; the message names the two that are not',
        );
      }
      assert.match(refusedAuth(results[0]!).reason, /^halt set runs as an operator.*--break-glass --reason/);
      assert.equal(await count(fresh.database, 'halts'), 0);
      assert.equal(await count(fresh.database, 'webhook_endpoints'), 0);
      const after =
        (await count(fresh.database, 'audit_log')) + (await count(fresh.database, 'audit_journal'));
      assert.equal(after, before, 'nothing was audited: the database was not even opened');
    } finally {
      await fresh.drop();
    }
  });
});
