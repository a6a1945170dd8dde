import {
  type Compilable,
  type CompiledQuery,
  type Insertable,
  type Kysely,
  PostgresAdapter,
  type QueryResult,
  type RawBuilder,
  sql,
} from 'kysely';
import { assert } from '../core/errors.ts';
import type { Engine } from './database.ts';
import type { Schema } from './schema.ts';

/** A connection or a transaction (transaction.ts's Tx, named here so the two modules do not import each other). */
type Tx = Kysely<Schema>;

export function engineOf(tx: Tx): Engine {
  return tx.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

const SLOT = '\u0000slot:';

/**
 * A parameter the SQLite planner does not look at: `(select ?)` on SQLite, the bare parameter on PostgreSQL.
 * better-sqlite3 builds SQLite with STAT4, and once ANALYZE has run SQLite re-prepares, on every run, a statement whose
 * bound parameter is compared with a column of a non-unique index (or a key joined onward), to weigh the value
 * against its samples: a cached statement is then prepared again each time, which for a join costs more than
 * running it (measured: 59 us against 26 us for a two-table join by primary key). Only for hot statements whose plan
 * does not depend on the value (an equality on a key); the plan stays the same index lookups.
 */
export function opaqueParameter<T>(engine: Engine, value: T): T | RawBuilder<T> {
  return engine === 'sqlite' ? sql<T>`(select ${value})` : value;
}

type Template = readonly ({ readonly slot: number } | { readonly value: unknown })[];

/**
 * A query shape built and compiled once per engine, then run with fresh parameters. Kysely builds
 * and compiles every query from scratch (about 50 µs for the UPDATE with CASEs); the ledger runs
 * the same four shapes for every transfer, so the hot path skips the builder and the compiler.
 * `build` receives placeholders in place of the arguments; each must reach the SQL as a parameter.
 */
export function compiledOnce<A extends readonly (string | null)[], R>(
  arity: A['length'],
  build: (tx: Tx, engine: Engine, ...args: A) => Compilable<R>,
): CompiledOnce<A, R> {
  const byEngine = new Map<Engine, { compiled: CompiledQuery<R>; template: Template }>();
  const query = (tx: Tx, ...args: A): CompiledQuery<R> => {
    assert(args.length === arity, 'a compiled query gets every argument');
    const engine = engineOf(tx);
    let entry = byEngine.get(engine);
    if (entry === undefined) {
      const slots = Array.from({ length: arity }, (_, i) => `${SLOT}${i}`) as unknown as A;
      const compiled = build(tx, engine, ...slots).compile();
      const template = compiled.parameters.map((value) =>
        typeof value === 'string' && value.startsWith(SLOT)
          ? { slot: Number(value.slice(SLOT.length)) }
          : { value },
      );
      for (let i = 0; i < arity; i++) {
        assert(
          template.some((part) => 'slot' in part && part.slot === i),
          `argument ${i} reaches the compiled SQL`,
        );
      }
      entry = { compiled, template };
      byEngine.set(engine, entry);
    }
    const parameters = entry.template.map((part) => ('slot' in part ? args[part.slot] : part.value));
    return { ...entry.compiled, parameters };
  };
  const run = (tx: Tx, ...args: A) => tx.executeQuery<R>(query(tx, ...args));
  return Object.assign(run, {
    statement: (tx: Tx, ...args: A): Compilable<R> => ({ compile: () => query(tx, ...args) }),
  });
}

/** Runs the query, or (`statement`) hands it to a caller that batches it (store/transaction.ts `together`). */
export type CompiledOnce<A extends readonly (string | null)[], R> = ((
  tx: Tx,
  ...args: A
) => Promise<QueryResult<R>>) & {
  statement(tx: Tx, ...args: A): Compilable<R>;
};

type Row<T extends keyof Schema> = Insertable<Schema[T]>;

/**
 * An INSERT of one row with every one of `columns`, built and compiled once per engine (compiledOnce): the hot
 * paths insert the same shapes (withdrawals, their events, audit entries, outbox rows) on every request.
 */
export function compiledInsert<T extends keyof Schema & string>(
  table: T,
  columns: readonly (keyof Row<T> & string)[],
) {
  const insert = compiledOnce(columns.length, (tx: Tx, _engine, ...slots: (string | null)[]) =>
    tx
      .insertInto(table)
      .values(Object.fromEntries(columns.map((column, i) => [column, slots[i]])) as unknown as Row<T>),
  );
  // Numbers are parameters as strings are: the placeholders only need to be strings while the shape is built.
  const args = (row: Row<T>) => columns.map((column) => (row[column] ?? null) as string | null);
  return {
    run: (tx: Tx, row: Row<T>) => insert(tx, ...args(row)),
    statement: (tx: Tx, row: Row<T>) => insert.statement(tx, ...args(row)),
  };
}

/** The rows of a statement built for `together` (a compiledOnce statement, a Kysely builder), run on its own. */
export async function rowsOf<R>(tx: Tx, query: Compilable<R>): Promise<R[]> {
  return (await tx.executeQuery(query.compile())).rows;
}
