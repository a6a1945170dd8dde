import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  type PostgresDialectConfig,
  PostgresDriver,
  SqliteDialect,
  sql,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';
import { boundsWrittenIn } from './sqlite-bounds.ts';
import type { StatementCounter } from './statement-counter.ts';

export type Engine = 'sqlite' | 'postgres';

/** One handle on the database, whichever engine is behind it. */
export interface Database {
  readonly engine: Engine;
  readonly db: Kysely<Schema>;
  /** SQLite only: whether the connection is inside a transaction now (src/store/transaction.ts checks it). */
  readonly connectionInTransaction?: () => boolean;
  close(): Promise<void>;
  /**
   * PostgreSQL only: LISTENs on `channel` over a connection of its own and calls `onNotify` for each NOTIFY (the
   * monitor's feed trigger sends one per entry). Answers the function that stops listening. A lost connection is
   * reported to `onError`; the caller's polling goes on regardless, so a notification is a hurry-up, never needed.
   */
  readonly listen?: (
    channel: string,
    onNotify: () => void,
    onError: (error: unknown) => void,
  ) => Promise<() => Promise<void>>;
}

export type DatabaseOptions =
  | {
      readonly engine: 'sqlite';
      readonly path: string;
      /** Checkpoint the WAL on a worker thread (what `drawbridge serve` does); otherwise SQLite's automatic one. */
      readonly backgroundCheckpoints?: boolean;
      /** Benchmarks: counts what this handle sends (statement-counter.ts); absent, nothing is hooked. */
      readonly counter?: StatementCounter;
    }
  | {
      readonly engine: 'postgres';
      readonly url: string;
      /** Tests give each file its own schema on the shared `test` database. */
      readonly searchPath?: string;
      readonly poolSize?: number;
      /** Benchmarks: counts what this handle sends (statement-counter.ts); absent, nothing is hooked. */
      readonly counter?: StatementCounter;
    };

export function openDatabase(options: DatabaseOptions): Database {
  if (options.engine === 'sqlite')
    return openSqlite(options.path, options.backgroundCheckpoints ?? false, options.counter);
  return openPostgres(options.url, options.searchPath, options.poolSize ?? 10, options.counter);
}

/** How every SQLite connection of Drawbridge is set up (the benchmarks' SQL floor opens its own the same way). */
export function configureSqlite(handle: SQLite.Database): void {
  handle.pragma('journal_mode = WAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('synchronous = NORMAL');
  // Statement and savepoint journals (every transaction here is a SAVEPOINT inside a commit group, see
  // transaction.ts) stay in memory instead of spilling to a temporary file past 64 KiB: on the withdrawal pipeline
  // 313 -> 415-432 withdrawals/s, and statement time per withdrawal about halved.
  handle.pragma('temp_store = MEMORY');
  // A page cache of 64 MiB (negative: KiB) instead of SQLite's 2 MiB, filled only as pages are read. At 1,000,000
  // accounts and withdrawals the interior pages of the big tables and indexes no longer fit in 2 MiB, so statements
  // re-read their path from the OS: containing 10,000 withdrawals right after seeding 1M/1M (the incident bench's
  // order, load 10-13 on 2 cores) took 5.3-18.5 s with 2 MiB and 3.3 s with 64 MiB (one run each way at a time).
  handle.pragma('cache_size = -65536');
  // Other processes (the CLI beside a running server) wait for the writer instead of failing.
  handle.pragma('busy_timeout = 5000');
}

function openSqlite(
  path: string,
  backgroundCheckpoints: boolean,
  counter: StatementCounter | undefined,
): Database {
  // Owner only: the file holds every customer's secrets sealed, sessions and the audit log.
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const handle = new SQLite(path);
  // SQLite gives the WAL and shared-memory files the main file's mode; a file from an older start is narrowed too.
  if (path !== ':memory:') restrictToOwner(path);
  configureSqlite(handle);
  if (path !== ':memory:') for (const file of [`${path}-wal`, `${path}-shm`]) restrictToOwner(file);
  const checkpointer =
    backgroundCheckpoints && path !== ':memory:' ? startCheckpointer(handle, path) : undefined;
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: cachingStatements(handle, counter) }),
  });
  return {
    engine: 'sqlite',
    db,
    connectionInTransaction: () => handle.inTransaction,
    close: async () => {
      // A commit group may be open (src/store/transaction.ts): its COMMIT is queued on the connection at the next
      // setImmediate. Queue behind it, so closing never rolls back work that is about to be committed.
      await new Promise((resolve) => setImmediate(resolve));
      await db.connection().execute(async () => {});
      await checkpointer?.close();
      await db.destroy();
    },
  };
}

const CHECKPOINT_INTERVAL_MS = 250;
/** Pages (4 KiB) of WAL after which a commit checkpoints by itself anyway: the net under a stalled thread. */
const SAFETY_NET_CHECKPOINT_PAGES = 20_000;

/**
 * Measured on the withdrawal pipeline: COMMIT averaged 313 us with SQLite's automatic checkpoint every 1000 pages
 * and 171 us without it; commits were a third of the statements' time.
 */
function startCheckpointer(handle: SQLite.Database, path: string): { close(): Promise<void> } {
  handle.pragma(`wal_autocheckpoint = ${SAFETY_NET_CHECKPOINT_PAGES}`);
  const worker = new Worker(new URL('./sqlite-checkpointer.mjs', import.meta.url), {
    workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // Failures are retried at the next interval; the safety net bounds the WAL meanwhile.
  worker.on('error', () => {});
  worker.on('message', () => {});
  worker.unref();
  return {
    close: async () => {
      await worker.terminate();
    },
  };
}

const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely prepares every statement again on every run; preparing costs about as much as running a short one.
 * Kysely holds its single SQLite connection behind a lock, so a cached statement is never run twice at once.
 */
function cachingStatements(handle: SQLite.Database, counter: StatementCounter | undefined) {
  const cache = new Map<string, SQLite.Statement>();
  const prepared = (sqlText: string): SQLite.Statement => {
    const cached = cache.get(sqlText);
    if (cached !== undefined) return cached;
    const statement = handle.prepare(sqlText);
    if (cache.size >= STATEMENT_CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(sqlText, statement);
    return statement;
  };
  const prepare = (sqlText: string) =>
    sqlText.includes('limit ?') || sqlText.includes('offset ?')
      ? boundsWrittenInStatement(sqlText, prepared)
      : prepared(sqlText);
  return {
    close: () => {
      cache.clear();
      handle.close();
    },
    // Kysely's SQLite connection prepares once per statement it runs, so counting here counts each run.
    prepare:
      counter === undefined
        ? prepare
        : (sqlText: string) => {
            counter.sqlite(sqlText, handle.inTransaction);
            return prepare(sqlText);
          },
  };
}

/**
 * A statement run with its LIMIT and OFFSET values written in (sqlite-bounds.ts: SQLite would otherwise prepare it
 * again on every run); the statement as it is when it has none.
 */
function boundsWrittenInStatement(sqlText: string, prepared: (sqlText: string) => SQLite.Statement) {
  const resolve = (parameters: readonly unknown[]) => {
    const written = boundsWrittenIn(sqlText, parameters);
    return { statement: prepared(written.text), parameters: written.parameters };
  };
  return {
    reader: prepared(sqlText).reader,
    all(parameters: readonly unknown[]) {
      const { statement, parameters: rest } = resolve(parameters);
      return statement.all(rest);
    },
    run(parameters: readonly unknown[]) {
      const { statement, parameters: rest } = resolve(parameters);
      return statement.run(rest);
    },
    iterate(parameters: readonly unknown[]) {
      const { statement, parameters: rest } = resolve(parameters);
      return statement.iterate(rest);
    },
  };
}

// NUMERIC and INT8 come back as strings; amounts are parsed to bigint by the store, never to number.
function openPostgres(
  url: string,
  searchPath: string | undefined,
  poolSize: number,
  counter: StatementCounter | undefined,
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // A database that drops packets must not hang requests for the OS connect timeout (minutes): after 5 s the
    // request gets its 503 DATABASE_UNAVAILABLE (src/http/problem.ts recognises the pool's timeout).
    connectionTimeoutMillis: 5_000,
    // A query is sent as soon as it is issued, not after the one before it is answered (see corkedPerTurn).
    pipeline: true,
    ...(searchPath === undefined ? {} : { options: `-c search_path=${searchPath}` }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client: pg.PoolClient) => {
    // A connection lost while a client is checked out emits 'error' on the client, which the pool does not
    // listen to then: without this it is an uncaught exception. The query in flight still fails with it.
    client.on('error', () => {});
    preparingStatements(client);
    corkedPerTurn(client);
    if (counter !== undefined) counting(client, counter);
  });
  const db = new Kysely<Schema>({ dialect: new PipeliningPostgresDialect({ pool }) });
  const listen = async (channel: string, onNotify: () => void, onError: (error: unknown) => void) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error('assertion failed: a plain channel name');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', onError);
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify();
    });
    await client.connect();
    await client.query(`listen ${channel}`);
    return async () => {
      await client.end().catch(() => {});
    };
  };
  return { engine: 'postgres', db, close: () => db.destroy(), listen };
}

class PipeliningPostgresDialect extends PostgresDialect {
  readonly #config: PostgresDialectConfig;
  constructor(config: PostgresDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new PipeliningPostgresDriver(this.#config);
  }
}

/** Per connection in a transaction: the writes sent without waiting for their answers (transaction.ts writeBehind). */
const behind = new WeakMap<DatabaseConnection, Promise<unknown>[]>();

/** Records a write sent behind on `connection`; its answer is awaited by the next statement or at COMMIT. */
export function sentBehind(connection: DatabaseConnection, answer: Promise<unknown>): void {
  answer.catch(() => {});
  const pending = behind.get(connection);
  if (pending === undefined) behind.set(connection, [answer]);
  else pending.push(answer);
}

/** The writes sent behind on `connection` so far, forgotten: the caller takes over waiting for them. */
function takeBehind(connection: DatabaseConnection): Promise<unknown>[] {
  const pending = behind.get(connection) ?? [];
  behind.delete(connection);
  return pending;
}

/**
 * BEGIN is sent without waiting for its answer, so it goes out with the transaction's first statement: one round
 * trip fewer per transaction. BEGIN fails only on a broken connection or one already inside a transaction, and
 * either fails the statements pipelined behind it too; COMMIT and ROLLBACK still wait for it.
 *
 * COMMIT goes out with the writes sent behind (transaction.ts writeBehind) and is answered after them. When one of
 * them failed, PostgreSQL has already aborted the transaction and answers the COMMIT with a ROLLBACK: the commit
 * throws that write's error.
 */
class PipeliningPostgresDriver extends PostgresDriver {
  readonly #begins = new WeakMap<DatabaseConnection, Promise<unknown>>();

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined)
      return super.beginTransaction(
        connection as Parameters<PostgresDriver['beginTransaction']>[0],
        settings,
      );
    const begun = connection.executeQuery(CompiledQuery.raw('begin'));
    begun.catch(() => {});
    this.#begins.set(connection, begun);
  }

  override async commitTransaction(connection: DatabaseConnection) {
    const pending = takeBehind(connection);
    const begun = this.#begun(connection);
    if (pending.length === 0) {
      await begun;
      return super.commitTransaction(connection);
    }
    const committed = connection.executeQuery(CompiledQuery.raw('commit'));
    committed.catch(() => {});
    await begun;
    const answers = await Promise.allSettled(pending);
    await committed;
    const failed = answers.find((answer) => answer.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  override async rollbackTransaction(connection: DatabaseConnection) {
    await Promise.allSettled(takeBehind(connection));
    await this.#begun(connection).catch(() => {});
    return super.rollbackTransaction(connection as Parameters<PostgresDriver['rollbackTransaction']>[0]);
  }

  #begun(connection: DatabaseConnection): Promise<unknown> {
    const begun = this.#begins.get(connection);
    this.#begins.delete(connection);
    return begun ?? Promise.resolve();
  }
}

/** Per connection: how many statements one connection keeps prepared before it sends the rest unnamed. */
const PREPARED_PER_CONNECTION = 300;
const STATEMENT_NAMES_CACHED = 2000;
const statementNames = new Map<string, string>();

/**
 * Kysely sends every query as an unnamed statement, which PostgreSQL parses and plans again each time: on the
 * withdrawal pipeline about half of the server's work (measured: the same statements through the bare driver ran
 * at 1.8x the rate once named). Each connection prepares a data statement once, by a name derived from its text,
 * and then only binds and executes it (which statements: see `preparable`). A connection keeps at most
 * PREPARED_PER_CONNECTION statements, beyond which it sends the rest unnamed.
 */
function preparingStatements(client: pg.PoolClient): void {
  const prepared = new Set<string>();
  const query = client.query.bind(client) as (config: unknown, values?: unknown) => unknown;
  const named = (text: string, values: unknown): unknown => {
    let name = statementNames.get(text);
    if (name === undefined) {
      name = preparable(text) ? `k${createHash('sha256').update(text).digest('base64url').slice(0, 22)}` : '';
      if (statementNames.size >= STATEMENT_NAMES_CACHED) statementNames.clear();
      statementNames.set(text, name);
    }
    if (name === '') return query(text, values);
    if (!prepared.has(name)) {
      if (prepared.size >= PREPARED_PER_CONNECTION) return query(text, values);
      prepared.add(name);
    }
    return query({ name, text, values }, undefined);
  };
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() is heavily overloaded; only (text, values) is rerouted
  (client as any).query = (config: unknown, values?: unknown) =>
    typeof config === 'string' && Array.isArray(values) ? named(config, values) : query(config, values);
}

/**
 * pg writes each protocol message of a query separately (Parse, Bind, Describe, Execute, Sync): on loopback a
 * write costs tens of microseconds of the event loop. The socket is corked from a connection's first query of an
 * event-loop turn until the turn's check phase, so everything issued in one turn leaves in one write.
 */
function corkedPerTurn(client: pg.PoolClient): void {
  // biome-ignore lint/suspicious/noExplicitAny: pg does not type its Connection's stream
  const stream = (client as any).connection?.stream as import('node:net').Socket | undefined;
  if (stream === undefined) return;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // biome-ignore lint/suspicious/noExplicitAny: see preparingStatements
  (client as any).query = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    return query(...args);
  };
}

/**
 * Benchmarks only: counts each query as it is handed to the connection. Installed over corkedPerTurn, so it sees
 * whether the socket is corked already: a query issued while it is not starts a new write (one write per
 * connection per event-loop turn; the queries of a turn leave together and the client waits for their answers).
 */
function counting(client: pg.PoolClient, counter: StatementCounter): void {
  // biome-ignore lint/suspicious/noExplicitAny: see corkedPerTurn
  const stream = (client as any).connection?.stream as import('node:net').Socket | undefined;
  const connection = counter.postgresConnection();
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // biome-ignore lint/suspicious/noExplicitAny: see preparingStatements
  (client as any).query = (...args: unknown[]) => {
    if (counter.active) {
      const config = args[0] as string | { text?: string } | undefined;
      const text = typeof config === 'string' ? config : (config?.text ?? '');
      connection.query(text, stream === undefined || stream.writableCorked === 0);
    }
    return query(...args);
  };
}

const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\s/i;
/** A `*` other than count(*): its result shape follows the table's, which a migration may change under a plan. */
const STAR_COLUMNS = /(?<!\()\*/;
/**
 * Shapes with long lists (multi-row inserts, IN lists) are many and each used rarely: not worth a slot. 64, not 32:
 * the withdrawal's own INSERT (33 parameters) and the request's read (41) run on every withdrawal.
 */
const MAX_PREPARED_PARAMETERS = 64;

/**
 * Which statements are prepared: data statements with an explicit column list and few parameters. A prepared
 * `select *` fails with "cached plan must not change result type" once another process adds a column (a
 * rolling deploy's migration), on every connection that prepared it; an explicit list is unaffected.
 */
function preparable(text: string): boolean {
  if (!DATA_STATEMENT.test(text) || STAR_COLUMNS.test(text)) return false;
  const parameters = text.match(/\$\d+/g)?.length ?? 0;
  return parameters <= MAX_PREPARED_PARAMETERS;
}

export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}

/** The database file and its WAL and shared-memory files, readable and writable by the owner only. */
function restrictToOwner(file: string): void {
  if (existsSync(file)) chmodSync(file, 0o600);
}
