import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Config, loadConfig } from '../../../src/config.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { buildApp } from '../../../src/http/app.ts';
import { spawnCli } from '../../support/cli.ts';
import { api } from '../../support/customers.ts';
import { type FreshDatabase, freshDatabase, testEngines } from '../../support/engines.ts';
import { type RunningApp, testContext } from '../../support/http.ts';

/** A PostgreSQL URL nobody listens on: the config is all these tests need of it. */
const SOME_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/drawbridge';

function refusesDevMailbox(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'INVALID_INPUT' && error.field === 'DEV_MAILBOX';
}

describe("the dev mailbox (every customer's codes and lock links, unauthenticated) is only ever on embedded", () => {
  test('on by default only in the embedded default: SQLite and no SMTP_URL', () => {
    assert.equal(loadConfig({}).devMailbox, true);
    assert.equal(loadConfig({ SMTP_URL: 'smtp://mail.example.com' }).devMailbox, false);
    assert.equal(loadConfig({ DATABASE_URL: SOME_DATABASE_URL }).devMailbox, false);
    assert.equal(
      loadConfig({ DATABASE_URL: SOME_DATABASE_URL, SMTP_URL: 'smtp://mail.example.com' }).devMailbox,
      false,
    );
    // An empty DATABASE_URL is no DATABASE_URL: the embedded default.
    assert.equal(loadConfig({ DATABASE_URL: '' }).devMailbox, true);
  });

  test('DEV_MAILBOX=true with DATABASE_URL is refused, naming DEV_MAILBOX, whatever else is set', () => {
    for (const on of ['true', '1']) {
      for (const extra of [{}, { SMTP_URL: 'smtp://mail.example.com' }, { SMTP_URL: '' }]) {
        assert.throws(
          () => loadConfig({ DATABASE_URL: SOME_DATABASE_URL, DEV_MAILBOX: on, ...extra }),
          refusesDevMailbox,
          `DEV_MAILBOX=${on} ${JSON.stringify(extra)}`,
        );
      }
    }
    assert.throws(
      () => loadConfig({ DATABASE_URL: SOME_DATABASE_URL, DEV_MAILBOX: 'yes' }),
      refusesDevMailbox,
    );
    assert.equal(loadConfig({ DATABASE_URL: SOME_DATABASE_URL, DEV_MAILBOX: 'false' }).devMailbox, false);
  });

  test('embedded, DEV_MAILBOX still turns it off, or on beside SMTP', () => {
    assert.equal(loadConfig({ DEV_MAILBOX: 'false' }).devMailbox, false);
    assert.equal(loadConfig({ DEV_MAILBOX: 'true', SMTP_URL: 'smtp://mail.example.com' }).devMailbox, true);
  });

  test('`drawbridge serve` with DATABASE_URL and DEV_MAILBOX=true does not start: one line names the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-devmailbox-'));
    try {
      const result = await spawnCli(['serve'], {
        DATABASE_URL: SOME_DATABASE_URL,
        DEV_MAILBOX: 'true',
        DRAWBRIDGE_DATA_DIR: dir,
        PORT: '1',
      });
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      const line = JSON.parse(lines[0] as string);
      assert.equal(line.field, 'DEV_MAILBOX');
      assert.match(line.reason, /DATABASE_URL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('`drawbridge serve` with DATABASE_URL and no PUBLIC_URL does not start: links would point at localhost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-publicurl-'));
    try {
      const result = await spawnCli(['serve'], {
        DATABASE_URL: SOME_DATABASE_URL,
        DRAWBRIDGE_DATA_DIR: dir,
        PUBLIC_URL: '',
        PORT: '1',
      });
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      const line = JSON.parse(lines[0] as string);
      assert.equal(line.field, 'PUBLIC_URL');
      assert.match(line.reason, /DATABASE_URL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const { engine, skip } of await testEngines()) {
  describe(`an app built from the configuration serves the mailbox only embedded, on ${engine}`, {
    skip,
  }, () => {
    let fresh: FreshDatabase;
    const apps: RunningApp[] = [];

    /** The app as `drawbridge serve` builds it from `config` (devMailbox as it passes it), on this engine's data. */
    async function appFrom(config: Config): Promise<RunningApp> {
      const context = testContext(fresh.database);
      const app = await buildApp({ context, logLevel: 'silent', devMailbox: config.devMailbox });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const running = {
        app,
        url,
        clock: context.clock as RunningApp['clock'],
        context,
        close: () => app.close(),
      };
      apps.push(running);
      return running;
    }

    before(async () => {
      fresh = await freshDatabase(engine);
    });
    after(async () => {
      for (const running of apps) await running.close();
      await fresh.drop();
    });

    test('with DATABASE_URL set, GET /v1/dev/mailbox is a 404 problem', async () => {
      for (const env of [
        { DATABASE_URL: SOME_DATABASE_URL },
        { DATABASE_URL: SOME_DATABASE_URL, SMTP_URL: '' },
      ]) {
        const running = await appFrom(loadConfig(env));
        const answer = await api(running, 'GET', '/v1/dev/mailbox?to=victim@example.com');
        assert.equal(answer.status, 404, JSON.stringify(answer.body));
        assert.equal(answer.body.code, 'NOT_FOUND');
        assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal((await api(running, 'GET', '/healthz')).status, 200);
      }
    });

    test('in the embedded default it is there', async () => {
      const running = await appFrom(loadConfig({}));
      const answer = await api(running, 'GET', '/v1/dev/mailbox?to=someone@example.com');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body.messages, []);
    });
  });
}
