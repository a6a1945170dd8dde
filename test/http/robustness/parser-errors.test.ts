import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FreshDatabase, freshDatabase, testEngines } from '../../support/engines.ts';
import { type RunningApp, startApp } from '../../support/http.ts';
import { type ParsedAnswer, parseAnswer, portOf, rawExchange } from './raw-http.ts';

/** A 4xx that is an RFC 9457 problem like every other, not Fastify's or Node's own JSON ({statusCode, error}). */
function assertProblem(answer: ParsedAnswer, status: number, what: string): void {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer)}`);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/, what);
  assert.equal(typeof answer.body, 'object', `${what}: the body is not JSON: ${answer.body}`);
  assert.equal(answer.body.status, status, what);
  assert.ok(String(answer.body.type).startsWith('https://drawbridge.dev/problems/'), what);
  for (const key of ['title', 'detail', 'code', 'request_id']) {
    assert.equal(typeof answer.body[key], 'string', `${what}: no ${key} in ${JSON.stringify(answer.body)}`);
  }
  assert.equal(answer.body.statusCode, undefined, `${what}: Fastify's own error body`);
  assert.equal(answer.headers['x-request-id'], answer.body.request_id, what);
}

const HOST = 'Host: 127.0.0.1\r\n';

for (const { engine, skip } of await testEngines()) {
  describe(`requests the HTTP parser or the router refuses get a problem body, on ${engine}`, {
    skip,
  }, () => {
    let fresh: FreshDatabase;
    let running: RunningApp;
    let port: number;
    before(async () => {
      fresh = await freshDatabase(engine);
      running = await startApp(fresh.database);
      port = portOf(running.url);
    });
    after(async () => {
      await running.close();
      await fresh.drop();
    });

    async function send(bytes: string | Buffer) {
      const answer = await rawExchange(port, bytes);
      assert.ok(answer.closed, 'the server closes a connection it could not parse');
      return parseAnswer(answer.text);
    }

    test('a malformed request line, header or framing is a 400 problem and the connection is closed', async () => {
      const malformed: [string, string | Buffer][] = [
        ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
        ['an unknown method', `BREW /healthz HTTP/1.1\r\n${HOST}\r\n`],
        ['a space in a header name', `GET /healthz HTTP/1.1\r\n${HOST}Bad Header: x\r\n\r\n`],
        ['a control byte in a header value', `GET /healthz HTTP/1.1\r\n${HOST}X-A: a\u0001b\r\n\r\n`],
        [
          'a non-numeric Content-Length',
          `POST /v1/auth/login HTTP/1.1\r\n${HOST}Content-Length: ten\r\n\r\n`,
        ],
        [
          'both Content-Length and chunked',
          `POST /v1/auth/login HTTP/1.1\r\n${HOST}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        ],
        [
          'a bad chunk size',
          `POST /v1/auth/login HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
        ],
        [
          'raw bytes of U+202E in the path',
          Buffer.from(`GET /v1/\xe2\x80\xae HTTP/1.1\r\n${HOST}\r\n`, 'latin1'),
        ],
      ];
      for (const [what, bytes] of malformed) {
        const answer = await send(bytes);
        assertProblem(answer, 400, what);
        assert.equal(answer.body.code, 'INVALID_INPUT', what);
        assert.equal(answer.headers.connection, 'close', what);
      }
    });

    test('headers larger than the limit are a 431 problem', async () => {
      const answer = await send(`GET /healthz HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      assertProblem(answer, 431, 'header overflow');
    });

    test("a badly encoded path and an over-long path parameter are problems that do not quote the caller's path", async () => {
      const badUrl = await fetch(`${running.url}/v1/withdrawals/%zz%E2%80%AE`);
      const badUrlBody = (await badUrl.json()) as Record<string, string>;
      assertProblem(
        { status: badUrl.status, headers: Object.fromEntries(badUrl.headers), body: badUrlBody },
        400,
        'bad url',
      );
      assert.equal(badUrlBody.field, '/url');
      assert.doesNotMatch(String(badUrlBody.detail), /%zz/);
      const long = await fetch(`${running.url}/v1/withdrawals/${'a'.repeat(150)}`);
      const longBody = (await long.json()) as Record<string, string>;
      assertProblem(
        { status: long.status, headers: Object.fromEntries(long.headers), body: longBody },
        414,
        'long',
      );
      assert.doesNotMatch(String(longBody.detail), /aaaaaaaaaa/);
    });

    test('an unknown route, an unsupported media type and broken JSON are problems too', async () => {
      const raw = [
        ['unknown route', `GET /v1/nothing-here HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, 404],
        [
          'unsupported media type',
          `POST /v1/auth/login HTTP/1.1\r\n${HOST}Content-Type: application/xml\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`,
          415,
        ],
        [
          'broken JSON',
          `POST /v1/auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{"`,
          400,
        ],
      ] as const;
      for (const [what, bytes, status] of raw) assertProblem(await send(bytes), status, what);
    });
  });
}
