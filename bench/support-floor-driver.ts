import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { configureSqlite } from '../src/store/database.ts';
import { boundsWrittenIn } from '../src/store/sqlite-bounds.ts';
import type { StatementCounter } from '../src/store/statement-counter.ts';

/*
 * The smallest driver layer a floor can run on: named statements prepared once, sent straight through
 * better-sqlite3 or pg. On SQLite one handle serves every caller one at a time (as Kysely's single
 * connection does in the app), and transactions commit in groups as the app's do (src/store/transaction.ts):
 * a group's first transaction runs directly in its BEGIN IMMEDIATE (no savepoint; if it throws, the group is
 * rolled back and ends), each later one in a SAVEPOINT of the open group, and the group commits once the callers
 * already waiting for the connection have run. On PostgreSQL a pool of the app's size hands a client to each
 * transaction. Unpipelined (the default), every statement is its own round trip. Pipelined, as the app's
 * connections are (src/store/database.ts): pg's pipeline mode, the socket corked from a connection's first query
 * of an event-loop turn to the turn's check phase (what one turn issues leaves in one write), BEGIN sent without
 * waiting, `together` statements sent at once, `behind` statements sent without waiting (answered by the next
 * statement or at COMMIT, which goes out with them and reports their failure), and every statement prepared once
 * per connection under a name.
 */

export type Row = Record<string, unknown>;
export type Params = readonly unknown[];

/** One statement's answer: its rows (statements that return rows) and the rows it changed. */
export interface Answer {
  readonly rows: Row[];
  readonly changes: number;
}

export interface FloorSession {
  /** Rows of a statement that returns rows. */
  rows(name: string, params: Params): Promise<Row[]>;
  /** Rows changed by a statement that returns none. */
  run(name: string, params: Params): Promise<number>;
  /** Statements that need no answer from each other, sent together (one write on a pipelined connection). */
  together(statements: readonly (readonly [string, Params])[]): Promise<Answer[]>;
  /**
   * A write whose answer nobody reads (the app's writeBehind): on a pipelined PostgreSQL transaction it is sent
   * now and leaves with the next statement or the COMMIT, which fails if it did; otherwise it simply runs.
   */
  behind(name: string, params: Params): Promise<void>;
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
  /** PostgreSQL: pipelined connections, as the app's (see above); off unless given. */
  readonly pipelined?: boolean;
}

/** Turns `?` placeholders into `$1, $2, ...`. */
export function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

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
  // As the app's statement cache does: LIMIT and OFFSET values are written into the text (sqlite-bounds.ts).
  const resolve = (name: string, params: Params): { statement: SQLite.Statement; params: Params } => {
    const text = texts.get(name);
    if (text === undefined) throw new Error(`no floor statement ${name}`);
    counter?.sqlite(text, handle.inTransaction);
    const written = boundsWrittenIn(text, params);
    return { statement: preparedText(written.text), params: written.parameters };
  };
  for (const text of texts.values()) preparedText(text);
  const control = (text: string) => {
    const statement = handle.prepare(text);
    return () => {
      counter?.sqlite(text, handle.inTransaction);
      statement.run();
    };
  };
  const answer = (name: string, params: Params): Answer => {
    const { statement, params: rest } = resolve(name, params);
    if (statement.reader) return { rows: statement.all(...rest) as Row[], changes: 0 };
    return { rows: [], changes: statement.run(...rest).changes };
  };
  const session: FloorSession = {
    rows: async (name, params) => answer(name, params).rows,
    run: async (name, params) => {
      const { statement, params: rest } = resolve(name, params);
      return statement.run(...rest).changes;
    },
    together: async (statements) => statements.map(([name, params]) => answer(name, params)),
    behind: async (name, params) => {
      answer(name, params);
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
  // As joinGroup in src/store/transaction.ts: the first transaction begins the group (and runs in it directly) and
  // queues its COMMIT behind the callers already waiting for the connection.
  const joinGroup = (): { group: CommitGroup; first: boolean } => {
    if (open !== undefined) {
      if (handle.inTransaction) return { group: open, first: false };
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
    return { group, first: true };
  };
  const transaction = async <T>(work: (s: FloorSession) => Promise<T>): Promise<T> => {
    let group: CommitGroup | undefined;
    const result = await exclusive(async () => {
      const joined = joinGroup();
      group = joined.group;
      if (joined.first) {
        // As firstOfGroup: alone in the group so far, it runs without a savepoint; a failure ends the group.
        try {
          return await work(session);
        } catch (error) {
          if (open === joined.group) open = undefined;
          try {
            rollback();
          } catch {
            // the transaction is gone already
          }
          joined.group.resolve();
          throw error;
        }
      }
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
          breakGroup(joined.group, error);
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
    together: (statements) => exclusive(() => session.together(statements)),
    behind: (name, params) => exclusive(() => session.behind(name, params)),
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
  const pipelined = options.pipelined === true;
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 1, pipeline: pipelined });
  pool.on('error', () => {});
  pool.on('connect', (client: pg.PoolClient) => {
    if (pipelined) corkedPerTurn(client);
    if (counter !== undefined) counting(client, counter);
  });
  const texts = new Map(
    Object.entries(statements).map(([name, text]) => {
      const numberedText = numbered(text);
      const statementName = `f${createHash('sha256').update(numberedText).digest('base64url').slice(0, 22)}`;
      return [name, { text: numberedText, name: statementName }];
    }),
  );
  const config = (name: string, params: Params) => {
    const found = texts.get(name);
    if (found === undefined) throw new Error(`no floor statement ${name}`);
    return pipelined
      ? { name: found.name, text: found.text, values: [...params] }
      : { text: found.text, values: [...params] };
  };
  const answerOf = (result: pg.QueryResult<Row>): Answer => ({
    rows: result.rows,
    changes: result.rowCount ?? 0,
  });
  // A session on a pooled client (a transaction) or on the pool (each statement outside any transaction).
  const on = (client: pg.Pool | pg.PoolClient, behind?: Promise<unknown>[]): FloorSession => {
    const send = (name: string, params: Params) => client.query<Row>(config(name, params));
    return {
      rows: async (name, params) => (await send(name, params)).rows,
      run: async (name, params) => (await send(name, params)).rowCount ?? 0,
      together: async (list) => {
        if (!pipelined) {
          const answers: Answer[] = [];
          for (const [name, params] of list) answers.push(answerOf(await send(name, params)));
          return answers;
        }
        return (await Promise.all(list.map(([name, params]) => send(name, params)))).map(answerOf);
      },
      behind: async (name, params) => {
        if (!pipelined || behind === undefined) {
          await send(name, params);
          return;
        }
        const answer = send(name, params);
        answer.catch(() => {});
        behind.push(answer);
      },
    };
  };
  const lone = on(pool);
  return {
    engine: 'postgres',
    ...lone,
    async transaction(work) {
      const client = await pool.connect();
      const behind: Promise<unknown>[] = [];
      try {
        // Pipelined, BEGIN leaves with the first statement (nobody waits for its answer before sending on).
        const begun = client.query('begin');
        begun.catch(() => {});
        if (!pipelined) await begun;
        const result = await work(on(client, behind));
        if (behind.length === 0) {
          await begun;
          await client.query('commit');
          return result;
        }
        // COMMIT goes out with the writes sent behind; a failed one has aborted the transaction.
        const committed = client.query('commit');
        committed.catch(() => {});
        await begun;
        const answers = await Promise.allSettled(behind.splice(0));
        await committed;
        const failed = answers.find((answer) => answer.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        return result;
      } catch (error) {
        await Promise.allSettled(behind.splice(0));
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

// biome-ignore lint/suspicious/noExplicitAny: pg does not type its Connection's stream
const streamOf = (client: pg.PoolClient) => (client as any).connection?.stream as Socket | undefined;

/** As the app's connections (src/store/database.ts): what one event-loop turn issues leaves in one write. */
function corkedPerTurn(client: pg.PoolClient): void {
  const stream = streamOf(client);
  if (stream === undefined) return;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() is heavily overloaded
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
 * Counts each query as it is handed to the connection, as the app's handle counts (src/store/database.ts
 * `counting`): installed over the corking, a query issued while the socket is not corked starts a new write.
 */
function counting(client: pg.PoolClient, counter: StatementCounter): void {
  const stream = streamOf(client);
  const connection = counter.postgresConnection();
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // biome-ignore lint/suspicious/noExplicitAny: see corkedPerTurn
  (client as any).query = (...args: unknown[]) => {
    if (counter.active) {
      const config = args[0] as string | { text?: string } | undefined;
      const text = typeof config === 'string' ? config : (config?.text ?? '');
      connection.query(text, stream === undefined || stream.writableCorked === 0);
    }
    return query(...args);
  };
}
