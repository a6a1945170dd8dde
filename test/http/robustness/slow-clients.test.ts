import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { buildApp } from '../../../src/http/app.ts';
import { type FreshDatabase, freshDatabase, testEngines } from '../../support/engines.ts';
import { type RunningApp, testContext } from '../../support/http.ts';
import { collect, openSocket, parseAnswer, portOf, type RawAnswer } from './raw-http.ts';

/** Small deadlines so the test is quick; production's are 30 s and 10 s (checked below). */
const REQUEST_MS = 1000;
const HEADERS_MS = 500;
const KEEP_ALIVE_MS = 400;
const SLOW_CLIENTS = 20;

/** Writes one byte every `everyMs` until the socket is closed (the brief's attacker: a byte every 2 s, scaled). */
function dribble(socket: Socket, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.writable) socket.write(' ');
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

function assertTimedOut(answer: RawAnswer, what: string, atLeastMs: number): void {
  assert.ok(answer.closed, `${what}: still open after ${answer.elapsedMs} ms`);
  assert.ok(answer.elapsedMs >= atLeastMs * 0.8, `${what}: closed after only ${answer.elapsedMs} ms`);
  const parsed = parseAnswer(answer.text);
  assert.equal(parsed.status, 408, `${what}: ${answer.text}`);
  assert.match(parsed.headers['content-type'] ?? '', /^application\/problem\+json/, what);
  assert.equal(parsed.body.status, 408, what);
  assert.equal(parsed.body.code, 'REQUEST_TIMEOUT', what);
}

for (const { engine, skip } of await testEngines()) {
  describe(`slow clients cannot hold connections open, on ${engine}`, { skip }, () => {
    let fresh: FreshDatabase;
    let running: RunningApp;
    let port: number;
    before(async () => {
      fresh = await freshDatabase(engine);
      const context = testContext(fresh.database);
      const app = await buildApp({
        context,
        logLevel: 'silent',
        timeouts: { requestMs: REQUEST_MS, headersMs: HEADERS_MS, keepAliveMs: KEEP_ALIVE_MS },
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      running = { app, url, clock: context.clock as RunningApp['clock'], context, close: () => app.close() };
      port = portOf(url);
    });
    after(async () => {
      await running.close();
      await fresh.drop();
    });

    test(`${SLOW_CLIENTS} bodies sent a byte at a time are cut off with a 408 problem; others are still served`, async () => {
      const sockets = await Promise.all(Array.from({ length: SLOW_CLIENTS }, () => openSocket(port)));
      const answers = sockets.map((socket) => collect(socket, REQUEST_MS * 5));
      for (const socket of sockets) {
        socket.write(
          'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 1000\r\n\r\n{"email": "',
        );
        dribble(socket, 100);
      }
      // While they dribble, everyone else is answered as usual.
      for (let i = 0; i < 5; i += 1) {
        const health = await fetch(`${running.url}/healthz`);
        assert.equal(health.status, 200);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const results = await Promise.all(answers);
      // Whatever happened, nothing of this test keeps a connection open past it.
      for (const socket of sockets) socket.destroy();
      for (const [index, answer] of results.entries()) {
        assertTimedOut(answer, `slow body ${index}`, REQUEST_MS);
      }
      const afterwards = await fetch(`${running.url}/healthz`);
      assert.equal(afterwards.status, 200);
    });

    test('headers sent a byte at a time are cut off at the header deadline', async () => {
      const socket = await openSocket(port);
      const answer = collect(socket, REQUEST_MS * 5);
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      dribble(socket, 50);
      const result = await answer;
      socket.destroy();
      assertTimedOut(result, 'slow headers', HEADERS_MS);
    });

    test('a connection that never sends a byte is closed', async () => {
      const socket = await openSocket(port);
      const answer = await collect(socket, REQUEST_MS * 5);
      socket.destroy();
      assert.ok(answer.closed, `still open after ${answer.elapsedMs} ms`);
      assert.ok(answer.elapsedMs >= HEADERS_MS * 0.8, `closed after only ${answer.elapsedMs} ms`);
    });

    test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
      const socket = await openSocket(port);
      const answer = collect(socket, REQUEST_MS * 5);
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      const result = await answer;
      socket.destroy();
      assert.ok(result.closed, `still open after ${result.elapsedMs} ms`);
      assert.equal(parseAnswer(result.text).status, 200);
      assert.ok(result.elapsedMs >= KEEP_ALIVE_MS * 0.8, `closed after only ${result.elapsedMs} ms`);
    });
  });
}

describe('the timeouts a server starts with', () => {
  test('by default the whole request has 30 s, the headers 10 s, an idle keep-alive connection 72 s', async () => {
    const fresh = await freshDatabase('sqlite');
    const app = await buildApp({ context: testContext(fresh.database), logLevel: 'silent' });
    try {
      assert.equal(app.server.requestTimeout, 30_000);
      assert.equal(app.server.headersTimeout, 10_000);
      assert.equal(app.server.keepAliveTimeout, 72_000);
      assert.ok(app.server.timeout > 0, 'a socket idle backstop is set');
    } finally {
      await app.close();
      await fresh.drop();
    }
  });

  test('REQUEST_TIMEOUT_SECONDS and KEEP_ALIVE_TIMEOUT_SECONDS set them; anything but a positive integer is refused', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.requestTimeoutMs, 30_000);
    assert.equal(defaults.keepAliveTimeoutMs, 72_000);
    const given = loadConfig({ REQUEST_TIMEOUT_SECONDS: '5', KEEP_ALIVE_TIMEOUT_SECONDS: '65' });
    assert.equal(given.requestTimeoutMs, 5_000);
    assert.equal(given.keepAliveTimeoutMs, 65_000);
    for (const [name, value] of [
      ['REQUEST_TIMEOUT_SECONDS', '0'],
      ['REQUEST_TIMEOUT_SECONDS', 'never'],
      ['KEEP_ALIVE_TIMEOUT_SECONDS', '-1'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error) => error instanceof DomainError && error.field === name,
      );
    }
  });
});
