import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SteppedSystemClock } from '../../src/core/clock.ts';
import { CONSOLE_POLICY } from '../../src/http/console.ts';
import { api, customerWithTotp, stepUpToken } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';

/**
 * The console served by the API's own process: its page for every console path with a policy that allows only its
 * own scripts and styles, its hashed assets, and the API's paths left to the API (an unknown one is a problem, never
 * the page). GET /v1/account gives the console who is signed in and the anti-phishing code. The test clock's route
 * exists only when the server was given one.
 */

function fakeBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-console-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><script type="module" src="/assets/index-abc.js"></script>',
  );
  writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  return dir;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the console and GET /v1/account on ${engine}`, (on) => {
    const clock = new SteppedSystemClock();
    const running = on.app({ consoleDir: fakeBundle(), testClock: clock });

    test('every console path is its page, under a policy with no inline script or style', async () => {
      for (const path of [
        '/',
        '/withdrawals/01a23ab8-8605-7af0-bd50-dd52fda3ca4f',
        '/operator/review',
        '/login?x=1',
      ]) {
        const page = await fetch(`${running.url}${path}`);
        assert.equal(page.status, 200, path);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        const policy = page.headers.get('content-security-policy') ?? '';
        assert.equal(policy, CONSOLE_POLICY);
        assert.match(policy, /script-src 'self'(;|$)/);
        assert.match(policy, /style-src 'self'(;|$)/);
        assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*/);
        assert.match(await page.text(), /index-abc\.js/);
      }
      const asset = await fetch(`${running.url}/assets/index-abc.js`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    });

    test("the API's paths stay the API's: an unknown one is a 404 problem, not the console's page", async () => {
      for (const path of ['/v1/no-such-route', '/v1/', '/assets/missing.js', '/.well-known/nothing']) {
        const answer = await api(running, 'GET', path);
        assert.equal(answer.status, 404, path);
        assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/, path);
        assert.equal(answer.body.code, 'NOT_FOUND');
      }
      const docs = await api(running, 'GET', '/openapi.json');
      assert.equal(docs.status, 200);
      assert.equal(docs.body.paths['/'], undefined, 'the console is not part of the API reference');
      assert.equal(docs.body.paths['/__test__/clock'], undefined);
    });

    test('a damaged link to a console page is a page that says so; the same path from an API client stays a problem', async () => {
      const damaged = `${running.url}/withdrawals/%E0%A4%A%E2%80%AE`;
      const page = await fetch(damaged, { headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(page.status, 400);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script-src|unsafe/);
      const html = await page.text();
      assert.match(html, /This address is not valid/);
      assert.match(html, /<a href="\/">/);
      assert.doesNotMatch(html, /%E0|\u202e/, 'the damaged address is not echoed');
      for (const [path, accept] of [
        ['/withdrawals/%E0%A4%A', 'application/json'],
        ['/v1/withdrawals/%E0%A4%A', 'text/html'],
      ] as const) {
        const answer = await fetch(`${running.url}${path}`, { headers: { accept } });
        assert.equal(answer.status, 400, path);
        assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/, path);
        assert.equal(((await answer.json()) as { code?: string }).code, 'INVALID_INPUT');
      }
    });

    test('GET /v1/account: who is signed in, with the anti-phishing code once set; signed out, 401', async () => {
      assert.equal((await api(running, 'GET', '/v1/account')).status, 401);
      const customer = await customerWithTotp(running, 'who-am-i@example.com');
      const before = await api(running, 'GET', '/v1/account', { token: customer.token });
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.equal(before.body.email, 'who-am-i@example.com');
      assert.equal(before.body.kind, 'customer');
      assert.equal(before.body.anti_phishing_code, null);
      const set = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: {
          code: 'blue heron 42',
          step_up_token: await stepUpToken(running, customer, 'anti_phishing.set'),
        },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const after = await api(running, 'GET', '/v1/account', { token: customer.token });
      assert.equal(after.body.anti_phishing_code, 'blue heron 42');
      assert.ok(
        after.body.withdrawals_locked_until !== null,
        'the second factor enrolment paused withdrawals',
      );
    });

    test('the test clock moves only forward, and only when the server was given one', async () => {
      const before = await api(running, 'GET', '/__test__/clock');
      const moved = await api(running, 'POST', '/__test__/clock', { body: { advance_seconds: 3600 } });
      assert.equal(moved.status, 200);
      assert.ok(new Date(moved.body.now).getTime() - new Date(before.body.now).getTime() >= 3600_000);
      const backwards = await api(running, 'POST', '/__test__/clock', { body: { advance_seconds: -1 } });
      assert.equal(backwards.status, 400);
    });
  });

  describeOn(`a server without the test clock on ${engine}`, (on) => {
    const running = on.app();
    test('has no /__test__/clock route', async () => {
      assert.equal(
        (await api(running, 'POST', '/__test__/clock', { body: { advance_seconds: 60 } })).status,
        404,
      );
      assert.equal((await api(running, 'GET', '/__test__/clock')).status, 404);
    });

    test("without a built console the emails' landing paths lead to the API's own link pages, token kept", async () => {
      for (const [from, to] of [
        ['/verify-email', '/v1/auth/verify-email'],
        ['/lock-account', '/v1/account/lock-link'],
      ]) {
        const response = await fetch(`${running.url}${from}?token=abc`, { redirect: 'manual' });
        assert.equal(response.status, 302, from);
        assert.equal(response.headers.get('location'), `${to}?token=abc`, from);
      }
    });
  });
}
