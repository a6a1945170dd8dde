import SQLite from 'better-sqlite3';
import pg from 'pg';
import { configureSqlite } from '../src/store/database.ts';

/*
 * The smallest driver layer a floor can run on: named statements prepared once, sent straight through
 * better-sqlite3 or pg. On SQLite one handle serves every caller one at a time (as Kysely's single
 * connection does in the app); on PostgreSQL a pool of the app's size hands a client to each transaction.
 */

export type Row = Record<string, unknown>;
export type Params = readonly unknown[];

export interface FloorSession {
  /** Rows of a statement that returns rows. */
  rows(name: string, params: Params): Promise<Row[]>;
  /** Rows changed by a statement that returns none. */
  run(name: string, params: Params): Promise<number>;
}

export interface FloorDriver extends FloorSession {
  readonly engine: 'sqlite' | 'postgres';
  transaction<T>(work: (session: FloorSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Turns `?` placeholders into `$1, $2, ...`. */
export function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export function sqliteDriver(path: string, statements: Readonly<Record<string, string>>): FloorDriver {
  const handle = new SQLite(path);
  configureSqlite(handle);
  const prepared = new Map(Object.entries(statements).map(([name, text]) => [name, handle.prepare(text)]));
  const statement = (name: string) => {
    const found = prepared.get(name);
    if (found === undefined) throw new Error(`no floor statement ${name}`);
    return found;
  };
  const session: FloorSession = {
    rows: async (name, params) => statement(name).all(...params) as Row[],
    run: async (name, params) => statement(name).run(...params).changes,
  };
  const begin = handle.prepare('begin immediate');
  const commit = handle.prepare('commit');
  const rollback = handle.prepare('rollback');
  // One connection: a caller waits for the one before it, as behind Kysely's connection lock.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => {});
    return next;
  };
  return {
    engine: 'sqlite',
    rows: (name, params) => exclusive(() => session.rows(name, params)),
    run: (name, params) => exclusive(() => session.run(name, params)),
    transaction: (work) =>
      exclusive(async () => {
        begin.run();
        try {
          const result = await work(session);
          commit.run();
          return result;
        } catch (error) {
          rollback.run();
          throw error;
        }
      }),
    close: async () => {
      handle.close();
    },
  };
}

export function postgresDriver(
  url: string,
  statements: Readonly<Record<string, string>>,
  poolSize: number,
): FloorDriver {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {});
  const texts = new Map(Object.entries(statements).map(([name, text]) => [name, numbered(text)]));
  const text = (name: string) => {
    const found = texts.get(name);
    if (found === undefined) throw new Error(`no floor statement ${name}`);
    return found;
  };
  const on = (client: pg.Pool | pg.PoolClient): FloorSession => ({
    rows: async (name, params) => (await client.query<Row>(text(name), [...params])).rows,
    run: async (name, params) => (await client.query(text(name), [...params])).rowCount ?? 0,
  });
  return {
    engine: 'postgres',
    ...on(pool),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await work(on(client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
