import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachEngine } from '../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`HTTP skeleton on ${engine}`, (on) => {
    const running = on.app({ bodyLimitBytes: 1024 });

    test('healthz reports the engine and a reachable database', async () => {
      const response = await fetch(`${running.url}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok', engine });
      assert.ok(response.headers.get('x-request-id'));
    });

    test('an unknown route is a 404 problem body', async () => {
      const response = await fetch(`${running.url}/v1/nothing-here`);
      assert.equal(response.status, 404);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const problem = (await response.json()) as Record<string, string | number>;
      assert.equal(problem.status, 404);
      assert.equal(problem.code, 'NOT_FOUND');
      assert.equal(problem.instance, '/v1/nothing-here');
    });

    test('broken JSON is a 400 problem naming the body, never a 500', async () => {
      const response = await fetch(`${running.url}/healthz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"amount": ',
      });
      assert.ok(response.status === 400 || response.status === 404, `status ${response.status}`);
      const problem = (await response.json()) as Record<string, string | number>;
      assert.equal(problem.status, response.status);
      assert.ok(String(problem.type).startsWith('https://'));
    });

    test('an oversized body is refused with 413 before it is read whole', async () => {
      const response = await fetch(`${running.url}/healthz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ padding: 'x'.repeat(4096) }),
      });
      assert.equal(response.status, 413);
      const problem = (await response.json()) as Record<string, string | number>;
      assert.equal(problem.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(problem.field, '/body');
    });

    test('a sane caller request id is echoed; a hostile one is replaced', async () => {
      const kept = await fetch(`${running.url}/healthz`, { headers: { 'x-request-id': 'upstream-42' } });
      assert.equal(kept.headers.get('x-request-id'), 'upstream-42');
      const replaced = await fetch(`${running.url}/healthz`, {
        headers: { 'x-request-id': 'a b\u00e9'.repeat(40) },
      });
      assert.notEqual(replaced.headers.get('x-request-id'), 'a b\u00e9'.repeat(40));
    });

    test('metrics are Prometheus text and count requests by route pattern', async () => {
      await fetch(`${running.url}/healthz`);
      const response = await fetch(`${running.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await response.text();
      assert.match(
        text,
        /drawbridge_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\}/,
      );
    });

    test('openapi.json is generated from the route schemas and lists every route', async () => {
      const response = await fetch(`${running.url}/openapi.json`);
      assert.equal(response.status, 200);
      const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
      assert.equal(document.openapi, '3.1.0');
      const routes = running.app.printRoutes({ commonPrefix: false });
      for (const path of ['/healthz', '/metrics', '/openapi.json']) {
        assert.ok(document.paths[path], `${path} missing from openapi`);
        assert.ok(routes.includes(path.slice(1)), `${path} missing from the router`);
      }
    });
  });
}
