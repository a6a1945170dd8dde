import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, customerWithTotp } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const ROUTE_LIMIT = 200;
const SESSION_ENDERS = new Set(['/v1/account/lock', '/v1/auth/logout']);

/** Every route the API documents answers a stranger, a forged token and a customer without a body with a problem or an answer, never a 5xx. */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`every documented route on ${engine}`, (on) => {
    const running = on.app();

    test('every path and method in /openapi.json answers without a 5xx, whoever asks', async () => {
      const spec = await api(running, 'GET', '/openapi.json');
      assert.equal(spec.status, 200);
      const routes: { method: string; path: string }[] = [];
      for (const [template, item] of Object.entries(
        spec.body.paths as Record<string, Record<string, unknown>>,
      )) {
        for (const method of METHODS) {
          if (item[method] === undefined) continue;
          // Path parameters get a well-formed id that names nothing.
          routes.push({
            method: method.toUpperCase(),
            path: template.replaceAll(/\{[^}]+\}/g, '01a21e00-0000-7000-8000-000000000000'),
          });
        }
      }
      assert.ok(routes.length >= 20 && routes.length <= ROUTE_LIMIT, `${routes.length} routes documented`);
      for (const expected of [
        'POST /v1/auth/login/passkey-challenge',
        'POST /v1/auth/step-up/passkey-challenge',
        'POST /v1/operator/security/revoke-mfa',
        'GET /v1/account/lock-link',
      ]) {
        assert.ok(
          routes.some((r) => `${r.method} ${r.path}` === expected),
          `${expected} is documented`,
        );
      }

      const customer = await customerWithTotp(running, 'route-walker@example.com');
      // Calls that end the customer's session go last, so the customer pass reaches every other route signed in.
      routes.sort((a, b) => Number(SESSION_ENDERS.has(a.path)) - Number(SESSION_ENDERS.has(b.path)));
      const callers: [string, Record<string, string>, (string | undefined)[]][] = [
        ['stranger', {}, [undefined, '{"x":']],
        ['forged token', { authorization: `Bearer ${'A'.repeat(43)}` }, [undefined]],
        ['malformed header', { authorization: 'Basic b3BlcmF0b3I6cGFzcw==' }, [undefined]],
        ['customer', { authorization: `Bearer ${customer.token}` }, [undefined, '{}']],
      ];
      // The calls for one route run together; routes run one after another (the session enders last).
      for (const route of routes) {
        const calls = callers.flatMap(([who, headers, bodies]) =>
          (route.method === 'GET' ? [undefined] : bodies).map((body) => ({ who, headers, body })),
        );
        await Promise.all(
          calls.map(async ({ who, headers, body }) => {
            const response = await fetch(`${running.url}${route.path}`, {
              method: route.method,
              headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
              ...(body === undefined ? {} : { body }),
            });
            const text = await response.text();
            const label = `${route.method} ${route.path} as ${who} with ${body ?? 'no body'}`;
            assert.ok(response.status < 500, `${label}: ${response.status} ${text}`);
            if (response.status >= 400) {
              assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, label);
              const problem = JSON.parse(text);
              assert.equal(problem.status, response.status, label);
              assert.equal(typeof problem.code, 'string', label);
            }
          }),
        );
      }
    });
  });
}
