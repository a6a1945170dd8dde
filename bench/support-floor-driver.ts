import SQLite from 'better-sqlite3';
import pg from 'pg';
import { configureSqlite } from '../src/store/database.ts';
import type { StatementCounter } from '../src/store/statement-counter.ts';

/*
 * The smallest driver layer a floor can run on: named statements prepared once, sent straight through
 * better-sqlite3 or pg. On SQLite one handle serves every caller one at a time (as Kysely's single
 * connection does in the app), and transactions commit in groups as the app's do (src/store/transaction.ts):
 * each transaction is a SAVEPOINT inside a group transaction, and the group commits once the callers already
 * waiting for the connection have run. On PostgreSQL a pool of the app's size hands a client to each
 * transaction, and every statement is its own round trip (no pipelining).
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
  /**
   * One statement that must be committed before the caller goes on, as the app's `committed()`: on SQLite a
   * transaction of its own (in a commit group), on PostgreSQL the bare statement.
   */
  committed(name: string, params: Params): Promise<Row[]>;
  close(): Promise<void>;
}

export interface FloorDriverOptions {
  /** Counts what the floor sends, as the app's handle counts what it sends (only while the counter is active). */
  readonly counter?: StatementCounter;
  /** PostgreSQL: the pool's connections; 1 unless given. */
  readonly poolSize?: number;
}

/** Turns `?` placeholders into `$1, $2, ...`. */
export function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/** `limit ?` closing a statement: the app's SQLite connection runs it with the number written in (database.ts). */
const TRAILING_LIMIT = / limit \?$/;

interface CommitGroup {
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export function sqliteDriver(
  path: string,
  statements: Readonly<Record<string, string>>,
  options: FloorDriverOptions = {},
): FloorDriver {
  const { counter } = options;
  const handle = new SQLite(path);
  configureSqlite(handle);
  const texts = new Map(Object.entries(statements));
  const prepared = new Map<string, SQLite.Statement>();
  const preparedText = (text: string) => {
    let statement = prepared.get(text);
    if (statement === undefined) {
      statement = handle.prepare(text);
      prepared.set(text, statement);
    }
    return statement;
  };
  // As the app's statement cache does: a closing `limit ?` runs with its whole-number limit written in.
  const resolve = (name: string, params: Params): { statement: SQLite.Statement; params: Params } => {
    const text = texts.get(name);
    if (text === undefined) throw new Error(`no floor statement ${name}`);
    counter?.sqlite(text, handle.inTransaction);
    const limit = params[params.length - 1];
    if (TRAILING_LIMIT.test(text) && typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0)
      return {
        statement: preparedText(text.replace(TRAILING_LIMIT, ` limit ${limit}`)),
        params: params.slice(0, -1),
      };
    return { statement: preparedText(text), params };
  };
  for (const text of texts.values()) preparedText(text);
  const control = (text: string) => {
    const statement = handle.prepare(text);
    return () => {
      counter?.sqlite(text, handle.inTransaction);
      statement.run();
    };
  };
  const session: FloorSession = {
    rows: async (name, params) => {
      const { statement, params: rest } = resolve(name, params);
      if (statement.reader) return statement.all(...rest) as Row[];
      statement.run(...rest);
      return [];
    },
    run: async (name, params) => {
      const { statement, params: rest } = resolve(name, params);
      return statement.run(...rest).changes;
    },
  };
  const [begin, commit, rollback, savepoint, release, rollbackTo] = [
    'begin immediate',
    'commit',
    'rollback',
    'savepoint unit',
    'release unit',
    'rollback to unit',
  ].map(control) as [() => void, () => void, () => void, () => void, () => void, () => void];
  // One connection: a caller waits for the one before it, as behind Kysely's connection lock.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => {});
    return next;
  };
  let open: CommitGroup | undefined;
  const breakGroup = (group: CommitGroup, error: unknown) => {
    if (open === group) open = undefined;
    group.reject(error);
  };
  // As joinGroup in src/store/transaction.ts: the first transaction begins the group and queues its COMMIT
  // behind the callers already waiting for the connection.
  const joinGroup = (): CommitGroup => {
    if (open !== undefined) {
      if (handle.inTransaction) return open;
      breakGroup(open, new Error('the commit group ended before its COMMIT'));
    }
    begin();
    let yes!: () => void;
    let no!: (error: unknown) => void;
    const committed = new Promise<void>((resolve, reject) => {
      yes = resolve;
      no = reject;
    });
    committed.catch(() => {});
    const group: CommitGroup = { committed, resolve: yes, reject: no };
    open = group;
    setImmediate(() => {
      void exclusive(async () => {
        if (open !== group) return;
        open = undefined;
        try {
          commit();
          group.resolve();
        } catch (error) {
          try {
            rollback();
          } catch {
            // the transaction is gone already
          }
          group.reject(error);
        }
      });
    });
    return group;
  };
  const transaction = async <T>(work: (s: FloorSession) => Promise<T>): Promise<T> => {
    let group: CommitGroup | undefined;
    const result = await exclusive(async () => {
      group = joinGroup();
      savepoint();
      try {
        const value = await work(session);
        release();
        return value;
      } catch (error) {
        try {
          rollbackTo();
          release();
        } catch {
          breakGroup(group, error);
        }
        throw error;
      }
    });
    await group?.committed;
    return result;
  };
  return {
    engine: 'sqlite',
    rows: (name, params) => exclusive(() => session.rows(name, params)),
    run: (name, params) => exclusive(() => session.run(name, params)),
    transaction,
    committed: (name, params) => transaction((s) => s.rows(name, params)),
    close: async () => {
      // A group's COMMIT may be queued: let it run first.
      await new Promise((resolve) => setImmediate(resolve));
      await exclusive(async () => {});
      handle.close();
    },
  };
}

export function postgresDriver(
  url: string,
  statements: Readonly<Record<string, string>>,
  poolSizeOrOptions: number | FloorDriverOptions = {},
): FloorDriver {
  const options = typeof poolSizeOrOptions === 'number' ? { poolSize: poolSizeOrOptions } : poolSizeOrOptions;
  const { counter } = options;
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 1 });
  pool.on('error', () => {});
  const texts = new Map(Object.entries(statements).map(([name, text]) => [name, numbered(text)]));
  const text = (name: string) => {
    const found = texts.get(name);
    if (found === undefined) throw new Error(`no floor statement ${name}`);
    return found;
  };
  type Connection = ReturnType<StatementCounter['postgresConnection']>;
  // Each query waits for its answer before the next is sent: one write, one round trip each. A statement on the
  // pool is outside any transaction: a fresh connection's counter.
  const on = (client: pg.Pool | pg.PoolClient, connection?: Connection): FloorSession => {
    const count = (sql: string) => (connection ?? counter?.postgresConnection())?.query(sql, true);
    return {
      rows: async (name, params) => {
        count(text(name));
        return (await client.query<Row>(text(name), [...params])).rows;
      },
      run: async (name, params) => {
        count(text(name));
        return (await client.query(text(name), [...params])).rowCount ?? 0;
      },
    };
  };
  const lone = on(pool);
  return {
    engine: 'postgres',
    ...lone,
    async transaction(work) {
      const client = await pool.connect();
      const connection = counter?.postgresConnection();
      const session = on(client, connection);
      try {
        connection?.query('begin', true, true);
        await client.query('begin');
        const result = await work(session);
        connection?.query('commit', true);
        await client.query('commit');
        return result;
      } catch (error) {
        connection?.query('rollback', true);
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    committed: (name, params) => lone.rows(name, params),
    close: () => pool.end(),
  };
}
