import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachEngine } from '../../support/each-engine.ts';
import { readyCustomer } from '../../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`content types and the order of checks, on ${engine}`, (on) => {
    const running = on.app();
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`${running.url}${path}`, { method: 'POST', headers, body });

    test('a body that is not JSON is a 415 problem saying what to send, and changes nothing', async () => {
      const customer = await readyCustomer(running, 'media@example.com');
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const response = await post('/v1/withdrawals', 'asset=BTC', {
          'content-type': type,
          authorization: `Bearer ${customer.token}`,
        });
        assert.equal(response.status, 415, type);
        assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        const problem = (await response.json()) as { code: string; field: string; detail: string };
        assert.equal(problem.code, 'UNSUPPORTED_MEDIA_TYPE');
        assert.equal(problem.field, '/headers/content-type');
        assert.match(problem.detail, /application\/json/);
      }
      const list = await fetch(`${running.url}/v1/withdrawals`, {
        headers: { authorization: `Bearer ${customer.token}` },
      });
      assert.deepEqual(((await list.json()) as { withdrawals: unknown[] }).withdrawals, []);
    });

    test('authentication is checked before the body: no session, a bad body, is a 401 that says nothing of the body', async () => {
      for (const [body, type] of [
        ['{"asset": 1}', 'application/json'],
        ['{bad json', 'application/json'],
        ['x', 'text/plain'],
      ] as const) {
        const response = await post('/v1/withdrawals', body, { 'content-type': type });
        assert.equal(response.status, 401, `${type} ${body}`);
        const problem = (await response.json()) as { code: string; field?: string };
        assert.equal(problem.code, 'UNAUTHENTICATED');
        assert.equal(problem.field, undefined);
      }
      const operatorRoute = await post('/v1/operator/halts', '{"scope": 7}', {
        'content-type': 'application/json',
        authorization: 'Bearer not-a-real-token-at-all',
      });
      assert.equal(operatorRoute.status, 401);
    });
  });
}
