import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

/** One handle on the database, whichever engine is behind it. */
export interface Database {
  readonly engine: Engine;
  readonly db: Kysely<Schema>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { readonly engine: 'sqlite'; readonly path: string }
  | {
      readonly engine: 'postgres';
      readonly url: string;
      /** Tests give each file its own schema on the shared `test` database. */
      readonly searchPath?: string;
      readonly poolSize?: number;
    };

export function openDatabase(options: DatabaseOptions): Database {
  if (options.engine === 'sqlite') return openSqlite(options.path);
  return openPostgres(options.url, options.searchPath, options.poolSize ?? 10);
}

function openSqlite(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const handle = new SQLite(path);
  handle.pragma('journal_mode = WAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('synchronous = NORMAL');
  // Other processes (the CLI beside a running server) wait for the writer instead of failing.
  handle.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingStatements(handle) }) });
  return { engine: 'sqlite', db, close: () => db.destroy() };
}

const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely prepares every statement again on every run; preparing costs about as much as running a short one.
 * Kysely holds its single SQLite connection behind a lock, so a cached statement is never run twice at once.
 */
function cachingStatements(handle: SQLite.Database) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      handle.close();
    },
    prepare(sqlText: string): SQLite.Statement {
      const cached = cache.get(sqlText);
      if (cached !== undefined) return cached;
      const statement = handle.prepare(sqlText);
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

// NUMERIC and INT8 come back as strings; amounts are parsed to bigint by the store, never to number.
function openPostgres(url: string, searchPath: string | undefined, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    ...(searchPath === undefined ? {} : { options: `-c search_path=${searchPath}` }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { engine: 'postgres', db, close: () => db.destroy() };
}

export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}
