import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { destinationPolicy } from '../../../src/adapters/webhooks/destination-policy.ts';
import { neutraliseText, quoteInput } from '../../../src/core/quote-input.ts';
import { buildApp } from '../../../src/http/app.ts';
import { api, customerWithoutFactors, operatorWithSession, PASSWORD } from '../../support/customers.ts';
import { type FreshDatabase, freshDatabase, testEngines } from '../../support/engines.ts';
import { type RunningApp, testContext } from '../../support/http.ts';

const RLO = '\u202e';
/** Characters that reorder, hide or forge text: bidi overrides and isolates, marks, zero-width, C0/C1, line breaks. */
const UNSAFE = [
  '\u0000',
  '\u0007',
  '\n',
  '\r',
  '\u001b',
  '\u007f',
  '\u009b',
  '\u00ad',
  '\u061c',
  '\u200b',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  RLO,
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\ufeff',
];
const UNSAFE_PATTERN = new RegExp(
  `[${UNSAFE.map((c) => `\\u{${c.codePointAt(0)?.toString(16)}}`).join('')}]`,
  'u',
);

/** Every string anywhere in a JSON answer (keys too), for a check that none carries an unsafe character. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [key, ...stringsIn(item)]);
  }
  return [];
}

function assertNeutralised(body: unknown, what: string): void {
  for (const text of stringsIn(body)) {
    assert.doesNotMatch(text, UNSAFE_PATTERN, `${what}: ${JSON.stringify(text)}`);
  }
}

describe('quoting caller input', () => {
  test('a bidi override, a control character or a line break is shown as an escape, never passed on', () => {
    for (const char of UNSAFE) {
      const quoted = quoteInput(`abc${char}def`);
      assert.doesNotMatch(quoted, UNSAFE_PATTERN, JSON.stringify(quoted));
      const hex = (char.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
      assert.equal(quoted, `"abc\\u{${hex}}def"`);
      assert.equal(neutraliseText(`x${char}`), `x\\u{${hex}}`);
    }
    assert.equal(quoteInput(`${RLO}txt.exe`), '"\\u{202E}txt.exe"');
    // A lone surrogate (half a pair) is invisible junk too.
    assert.equal(quoteInput('a\ud800b'), '"a\\u{D800}b"');
  });

  test('the quote cannot be closed early, and long input is cut', () => {
    assert.equal(quoteInput('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
    const long = quoteInput('x'.repeat(500));
    assert.equal(long, `"${'x'.repeat(64)}\u2026"`);
    assert.equal(quoteInput('y'.repeat(10), 4), `"yyyy\u2026"`);
  });

  test('ordinary text in any script, emoji included, is left as it is', () => {
    for (const text of ['withdrawal 0190b3c2', 'Zürich', '東京', 'שלום', 'مرحبا', '🚀 ok']) {
      assert.equal(neutraliseText(text), text);
      assert.equal(quoteInput(text), `"${text}"`);
    }
  });
});

for (const { engine, skip } of await testEngines()) {
  describe(`error answers never carry the caller's bidi or control characters, on ${engine}`, {
    skip,
  }, () => {
    let fresh: FreshDatabase;
    let running: RunningApp;
    before(async () => {
      fresh = await freshDatabase(engine);
      const context = testContext(fresh.database);
      const app = await buildApp({
        context,
        logLevel: 'silent',
        devMailbox: true,
        webhookDestinations: destinationPolicy({ allowedHosts: ['hooks.example.com'], allowLoopback: false }),
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      running = { app, url, clock: context.clock as RunningApp['clock'], context, close: () => app.close() };
    });
    after(async () => {
      await running.close();
      await fresh.drop();
    });

    test("a service message quoting a customer's input shows its U+202E as an escape", async () => {
      const token = await customerWithoutFactors(running, 'bidi@example.com');
      const answer = await api(running, 'PUT', '/v1/account/notification-preferences', {
        token,
        body: { preferences: [{ event: `${RLO}gpj.exe\u0007\u001b[2J`, enabled: false }] },
      });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assertNeutralised(answer.body, 'preference');
      assert.match(answer.body.detail, /\\u\{202E\}gpj\.exe\\u\{0007\}\\u\{001B\}\[2J/);
    });

    test("an operator's event list quoted in a message is neutralised too", async () => {
      const admin = await operatorWithSession(running, 'bidi-admin@drawbridge.test', 'admin');
      const answer = await api(running, 'POST', '/v1/operator/webhooks', {
        token: admin.token,
        body: { url: 'https://hooks.example.com/x', events: [`account.${RLO}locked`] },
      });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.field, '/body/events/0');
      assertNeutralised(answer.body, 'events');
      assert.match(answer.body.detail, /\\u\{202E\}/);
    });

    test('an unknown field whose name holds a bidi override is named with the override escaped', async () => {
      const answer = await api(running, 'POST', '/v1/auth/login', {
        body: { email: 'x@example.com', password: PASSWORD, [`${RLO}admin`]: true },
      });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.field, '/body/\\u{202E}admin');
      assertNeutralised(answer.body, 'unknown field');
    });

    test('the path of an unknown route is quoted, not echoed', async () => {
      const answer = await api(running, 'GET', '/v1/nothing-here/%E2%80%AE%0A');
      assert.equal(answer.status, 404);
      assertNeutralised(answer.body, 'unknown route');
      assert.match(answer.body.detail, /^no route GET "\/v1\/nothing-here\/%E2%80%AE%0A"$/);
    });
  });
}
