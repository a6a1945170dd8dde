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
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: handle }) });
  return { engine: 'sqlite', db, close: () => db.destroy() };
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
