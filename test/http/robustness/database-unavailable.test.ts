import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import pg from 'pg';
import { DomainError } from '../../../src/core/errors.ts';
import { buildApp } from '../../../src/http/app.ts';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, toProblem } from '../../../src/http/problem.ts';
import { type Database, openDatabase } from '../../../src/store/database.ts';
import { type ApiResponse, api } from '../../support/customers.ts';
import { type FreshDatabase, freshDatabase, POSTGRES_URL, testEngines } from '../../support/engines.ts';
import { type RunningApp, testContext } from '../../support/http.ts';

const REQUEST = { url: '/v1/withdrawals', id: 'req-1' } as FastifyRequest;

function assertUnavailable(answer: ApiResponse, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${JSON.stringify(answer.body)}`);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(answer.body.code, 'DATABASE_UNAVAILABLE', what);
  assert.equal(answer.body.status, 503, what);
  assert.equal(answer.headers.get('retry-after'), String(DATABASE_RETRY_AFTER_S), what);
}

describe('which errors mean the database cannot be reached (the one error mapping)', () => {
  const lost: [string, unknown][] = [
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'every address of the host refused',
      Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {}),
    ],
    [
      'admin shutdown (pg_terminate_backend)',
      Object.assign(new Error('terminating connection'), { code: '57P01' }),
    ],
    ['crash shutdown', Object.assign(new Error('terminating connection'), { code: '57P02' })],
    [
      'the server is starting up',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    ],
    ['a connection exception (class 08)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['too many connections', Object.assign(new Error('sorry, too many clients'), { code: '53300' })],
    ['node-postgres lost the connection', new Error('Connection terminated unexpectedly')],
    ['a connect timeout of node-postgres', new Error('Connection terminated due to connection timeout')],
    ['the pool timed out connecting', new Error('timeout exceeded when trying to connect')],
    [
      'a client broken by an earlier error',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    [
      'a cause further down',
      new Error('query failed', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }),
    ],
    [
      'SQLite busy past busy_timeout',
      Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
    ],
  ];
  for (const [what, error] of lost) {
    test(`${what}: a 503 DATABASE_UNAVAILABLE problem with a retry time`, () => {
      assert.ok(isDatabaseUnavailable(error), what);
      const problem = toProblem(error, REQUEST);
      assert.equal(problem.status, 503);
      assert.equal(problem.code, 'DATABASE_UNAVAILABLE');
      assert.equal(problem.retry_after_s, DATABASE_RETRY_AFTER_S);
      assert.doesNotMatch(
        problem.detail,
        /127\.0\.0\.1|5432|terminating/,
        'nothing of the connection is told',
      );
    });
  }

  test('a constraint violation, a bug or a client hanging up mid-body is not the database being away', () => {
    const notLost: unknown[] = [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
    ];
    for (const error of notLost) assert.equal(toProblem(error, REQUEST).status, 500, String(error));
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    assert.equal(toProblem(aborted, REQUEST).status, 400);
    assert.equal(toProblem(new DomainError('CONFLICT', 'Connection terminated'), REQUEST).status, 409);
  });
});

/** A TCP relay in front of PostgreSQL that the test can cut (every connection dropped, the port closed) and restore. */
class Relay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const target = new URL(POSTGRES_URL);
    const server = createServer((client) => {
      const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.port }, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** The database "goes away": open connections are reset and new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.#sockets) socket.resetAndDestroy();
    await closed;
  }
}

const postgres = (await testEngines()).find((e) => e.engine === 'postgres');

describe('a lost PostgreSQL is a 503 problem with Retry-After, and the server recovers when it is back', {
  skip: postgres === undefined ? 'ONLY_ENGINE excludes PostgreSQL' : postgres.skip,
}, () => {
  let fresh: FreshDatabase;
  let relay: Relay;
  let database: Database;
  let running: RunningApp;
  const applicationName = `drawbridge_robust_${randomBytes(4).toString('hex')}`;
  let schema: string;

  before(async () => {
    fresh = await freshDatabase('postgres');
    schema = (new URL(fresh.env.DATABASE_URL as string).searchParams.get('options') ?? '').replace(
      '-c search_path=',
      '',
    );
    relay = new Relay();
    await relay.start();
    const url = new URL(POSTGRES_URL);
    url.port = String(relay.port);
    url.searchParams.set('application_name', applicationName);
    // The app's own connections go through the relay; the migrated schema is the fresh one.
    database = openDatabase({ engine: 'postgres', url: url.toString(), searchPath: schema, poolSize: 4 });
    const context = testContext(database);
    const app = await buildApp({ context, logLevel: 'silent', devMailbox: true });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    running = {
      app,
      url: address,
      clock: context.clock as RunningApp['clock'],
      context,
      close: () => app.close(),
    };
  });
  after(async () => {
    await running.close();
    await database.close().catch(() => {});
    await relay.cut();
    await fresh.drop();
  });

  const read = () => api(running, 'GET', '/v1/dev/mailbox?to=someone@example.com');
  const write = () =>
    api(running, 'POST', '/v1/auth/password-reset', { body: { email: 'someone@example.com' } });

  test('while the connection is cut every request is a 503; once it is back they are answered again', async () => {
    assert.equal((await read()).status, 200);
    assert.equal((await write()).status, 202);

    await relay.cut();
    assertUnavailable(await read(), 'a read with the database gone');
    assertUnavailable(await write(), 'a write with the database gone');
    const health = await api(running, 'GET', '/healthz');
    assert.equal(health.status, 503);

    await relay.start();
    assert.equal((await read()).status, 200);
    assert.equal((await write()).status, 202);
    assert.equal((await api(running, 'GET', '/healthz')).status, 200);
  });

  test('a connection the server terminates mid-query (pg_terminate_backend, 57P01) is a 503', async () => {
    assert.equal((await read()).status, 200);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      // Hold the table the read needs, so the app's query is in flight when its connection is killed.
      await admin.query('begin');
      await admin.query(`lock table ${schema}.outbox in access exclusive mode`);
      const pending = read();
      let inFlight = false;
      for (let i = 0; i < 100 && !inFlight; i += 1) {
        const waiting = await admin.query(
          "select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
          [applicationName],
        );
        inFlight = waiting.rows[0].n > 0;
        if (!inFlight) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(inFlight, "the app's query never waited on the lock");
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      assertUnavailable(await pending, 'a query whose connection was terminated');
      await admin.query('rollback');
    } finally {
      await admin.end();
    }
    // The other pooled connections were terminated too; the pool drops each as its socket's close is seen, so a
    // request or two may still meet a dead one (and get its 503). Within a second the pool has fresh ones.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i += 1) {
      status = (await read()).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(status, 200, 'the pool reconnects');
  });

  test('a database nobody listens on (127.0.0.1:1) is a 503 from the first request', async () => {
    const nowhere = openDatabase({
      engine: 'postgres',
      url: 'postgres://postgres@127.0.0.1:1/test',
      poolSize: 1,
    });
    const context = testContext(nowhere);
    const app = await buildApp({ context, logLevel: 'silent', devMailbox: true });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const elsewhere = { ...running, app, url: address, context };
    try {
      assertUnavailable(await api(elsewhere, 'GET', '/v1/dev/mailbox?to=someone@example.com'), 'nowhere');
      assertUnavailable(
        await api(elsewhere, 'POST', '/v1/auth/login', {
          body: { email: 'a@example.com', password: 'x'.repeat(12) },
        }),
        'a login with nowhere to look',
      );
    } finally {
      await app.close();
      await nowhere.close().catch(() => {});
    }
  });
});
