import { type Compilable, type Kysely, type QueryResult, sql } from 'kysely';
import { engineOf } from './compiled-query.ts';
import { type Database, sentBehind } from './database.ts';
import type { Schema } from './schema.ts';

/** A query handle that is inside a transaction. */
export type Tx = Kysely<Schema>;

/**
 * Runs `work` in one transaction and resolves once it is committed.
 *
 * PostgreSQL: READ COMMITTED; code that must serialise takes row locks (`forUpdate`) or advisory locks explicitly.
 *
 * SQLite: one connection, one writer, and a COMMIT that costs more than most transactions' statements (it writes
 * every page the transaction dirtied to the WAL). So transactions commit in groups: the first opens
 * `BEGIN IMMEDIATE` (the single write lock, taken up front, so two processes on one file never deadlock on a lock
 * upgrade), the first runs in it directly and each later one inside its own SAVEPOINT on the shared connection,
 * one after another, and the group commits
 * as soon as the transactions already waiting for the connection have run. Each `work` is still atomic (its
 * savepoint rolls back alone when it throws) and isolated (they run one at a time, each seeing the ones before
 * it), and nobody hears "done" before the COMMIT: if the COMMIT fails, every transaction of the group fails.
 */
export async function inTransaction<T>(database: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (database.engine === 'postgres') {
    return database.db.transaction().execute(work);
  }
  let group: CommitGroup | undefined;
  const result = await database.db.connection().execute(async (connection) => {
    const joined = await joinGroup(database, connection);
    group = joined.group;
    // The group's first transaction runs alone in it (the others wait for the connection), so a ROLLBACK of the
    // whole group undoes it and nobody else: it needs no savepoint of its own. The ones that join later do.
    if (joined.first) return firstOfGroup(database, joined.group, connection, work);
    await sql`savepoint unit`.execute(connection);
    try {
      const value = await work(connection);
      await sql`release unit`.execute(connection);
      return value;
    } catch (error) {
      try {
        await sql`rollback to unit`.execute(connection);
        await sql`release unit`.execute(connection);
      } catch {
        // SQLite ended the whole transaction (SQLITE_FULL, an I/O error, an interrupt): the group's work is gone.
        breakGroup(database, joined.group, error);
      }
      throw error;
    }
  });
  await group?.committed;
  return result;
}

async function firstOfGroup<T>(
  database: Database,
  group: CommitGroup,
  connection: Tx,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await work(connection);
  } catch (error) {
    // Nothing else is in the group yet: it ends here, rolled back, and the next transaction starts a new one.
    if (openGroups.get(database) === group) openGroups.delete(database);
    await sql`rollback`.execute(connection).catch(() => {});
    group.resolve();
    throw error;
  }
}

/**
 * A read-only view of one moment: REPEATABLE READ on PostgreSQL; on SQLite one transaction of the single
 * connection. Sums, conservation checks and reports read many pages; under READ COMMITTED each page could see a
 * different database.
 */
export function inReadSnapshot<T>(database: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (database.engine === 'postgres') {
    return database.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(work);
  }
  // SQLite has one connection: a transaction of its own sees one moment (and joins the commit group, so it
  // cannot collide with a group that is open).
  return inTransaction(database, work);
}

/**
 * One statement that must be committed before the caller goes on (a counter, a touch, a hand-over record).
 * On PostgreSQL a lone statement is its own transaction; on SQLite it would otherwise run inside whatever
 * commit group is open and be acknowledged before that group's COMMIT, so it becomes a transaction of its own.
 */
export function committed<T>(database: Database, work: (db: Tx) => Promise<T>): Promise<T> {
  return database.engine === 'postgres' ? work(database.db) : inTransaction(database, work);
}

interface CommitGroup {
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

const openGroups = new WeakMap<Database, CommitGroup>();

/** Fails every transaction of a group whose database transaction ended under it; the next one starts afresh. */
function breakGroup(database: Database, group: CommitGroup, error: unknown): void {
  if (openGroups.get(database) === group) openGroups.delete(database);
  group.reject(error);
}

async function joinGroup(
  database: Database,
  connection: Tx,
): Promise<{ group: CommitGroup; first: boolean }> {
  const open = openGroups.get(database);
  if (open !== undefined) {
    // Joining is only sound while the group's transaction is still open on the connection.
    if (database.connectionInTransaction?.() !== false) return { group: open, first: false };
    breakGroup(database, open, new Error('the commit group ended before its COMMIT'));
  }
  await sql`begin immediate`.execute(connection);
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  // A group whose every transaction threw has nobody waiting on it.
  committed.catch(() => {});
  const group = { committed, resolve, reject };
  openGroups.set(database, group);
  // Queued behind the transactions already waiting for the connection; later ones start the next group.
  setImmediate(() => {
    void database.db
      .connection()
      .execute(async (commitConnection) => {
        // A broken group was already failed, and a newer group is not this COMMIT's to end.
        if (openGroups.get(database) !== group) return;
        openGroups.delete(database);
        try {
          await sql`commit`.execute(commitConnection);
          group.resolve();
        } catch (error) {
          await sql`rollback`.execute(commitConnection).catch(() => {});
          group.reject(error);
        }
      })
      .catch((error: unknown) => breakGroup(database, group, error));
  });
  return { group, first: true };
}

type Results<T extends readonly Compilable<unknown>[]> = {
  -readonly [K in keyof T]: T[K] extends Compilable<infer R> ? QueryResult<R> : never;
};

/**
 * Runs statements of one transaction that do not need each other's answers, in order, as one round trip.
 * Kysely sends a transaction's statements one at a time, each after the answer to the one before; the
 * PostgreSQL connections pipeline (database.ts), so these leave in one write and come back in one read, and
 * PostgreSQL still executes them one after another in the order given. On SQLite they simply run in order.
 * If one fails, the transaction fails (on PostgreSQL the ones after it fail with it).
 */
export async function together<T extends readonly Compilable<unknown>[]>(
  tx: Tx,
  ...queries: T
): Promise<Results<T>> {
  const compiled = queries.map((query) => query.compile());
  const results = await tx
    .getExecutor()
    .provideConnection((connection) => Promise.all(compiled.map((query) => connection.executeQuery(query))));
  return results as Results<T>;
}

/** Row locks exist only on PostgreSQL; on SQLite the transaction already holds the single write lock. */
export function lockRows(database: Database): boolean {
  return database.engine === 'postgres';
}

/**
 * A module's reads, handed out instead of run, so that a caller can send several modules' reads in one round trip
 * (`readTogether`): the statements, and what to make of their results (in the same order). `decode` may run more
 * statements itself for a rare case (an account not open yet, a second asset's price).
 */
export interface Reads<T> {
  readonly statements: readonly Compilable<unknown>[];
  decode(results: readonly QueryResult<unknown>[]): T | Promise<T>;
}

type Decoded<T extends readonly Reads<unknown>[]> = {
  -readonly [K in keyof T]: T[K] extends Reads<infer R> ? R : never;
};

/** Every statement of `reads` in one round trip (see `together`), each decoded with its own results. */
export async function readTogether<T extends readonly Reads<unknown>[]>(
  tx: Tx,
  ...reads: T
): Promise<Decoded<T>> {
  const results = await together(tx, ...reads.flatMap((read) => read.statements));
  const decoded: unknown[] = [];
  let offset = 0;
  for (const read of reads) {
    decoded.push(await read.decode(results.slice(offset, offset + read.statements.length)));
    offset += read.statements.length;
  }
  return decoded as Decoded<T>;
}

/** Reads whose results are taken as they come: `rowsOf` for several statements. */
export function plainReads<R>(...statements: Compilable<R>[]): Reads<R[][]> {
  return {
    statements,
    decode: (results) => results.map((result) => result.rows as R[]),
  };
}

/** No statements: for a party that has nothing to read. */
export const NO_READS: Reads<undefined> = { statements: [], decode: () => undefined };

/**
 * Writes of this transaction whose answers nobody reads (an audit entry, an outbox row, an event): on PostgreSQL they
 * are sent now, without waiting, and leave with whatever the transaction sends next (at the latest its COMMIT), so
 * the usual tail of a transaction costs no round trip of its own. If one fails, the transaction fails: at the next
 * statement, or at COMMIT, which then reports that write's error (database.ts). On SQLite they simply run.
 */
export async function writeBehind(tx: Tx, ...statements: readonly Compilable<unknown>[]): Promise<void> {
  if (statements.length === 0) return;
  // Outside a transaction each statement is its own: it is only done when it is answered.
  if (engineOf(tx) === 'sqlite' || !tx.isTransaction) {
    await together(tx, ...statements);
    return;
  }
  const compiled = statements.map((statement) => statement.compile());
  await tx.getExecutor().provideConnection(async (connection) => {
    for (const query of compiled) sentBehind(connection, connection.executeQuery(query));
  });
}

/**
 * What a store function may run on: a transaction, or the database itself, where each statement runs on its own
 * (an autocommit). Services hand over `context.database` for reads that need no transaction, never the raw handle.
 */
export type Queryable = Tx | Database;

export function queryable(on: Queryable): Tx {
  return 'engine' in on ? on.db : on;
}
