/*
 * What one database handle sent: statements, transactions, SQLite commit groups and PostgreSQL round trips. For the
 * benchmarks (bench/pipeline.ts), which pass a StatementCounter in DatabaseOptions; without one, database.ts
 * installs no hook at all, so the app pays nothing. With one, it counts only while `active`.
 */

export interface StatementCounts {
  /** Every statement the engine executed, transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE) included. */
  statements: number;
  /** The statements other than transaction control: SELECT, INSERT, UPDATE, DELETE, WITH. */
  dataStatements: number;
  /**
   * Transactions as the app sees them: each `inTransaction` (PostgreSQL: BEGIN; SQLite: a group's BEGIN or a SAVEPOINT) plus each
   * statement run outside any transaction (an autocommit).
   */
  transactions: number;
  /** Of `transactions`, the statements run outside any transaction. */
  autocommits: number;
  /**
   * Database transactions begun (SQLite: BEGIN of a commit group, which holds one or more `inTransaction`s as
   * savepoints; PostgreSQL: BEGIN). Autocommits are not included.
   */
  commitGroups: number;
  /**
   * PostgreSQL: socket writes carrying at least one query the client waits for (a write carrying only a BEGIN,
   * which is sent without waiting for its answer, is not one). SQLite: 0 (in process, no round trips).
   */
  roundTrips: number;
  /** PostgreSQL: every socket write that carried queries, BEGIN-only ones included. */
  writes: number;
}

/** One statement as the counter saw it, when tracing. */
export interface TracedStatement {
  readonly sql: string;
  /** PostgreSQL: the number of the socket write it left in (statements with the same number shared it). */
  readonly write: number | undefined;
  /** Outside any transaction: an autocommit. */
  readonly autocommit: boolean;
}

export function noCounts(): StatementCounts {
  return {
    statements: 0,
    dataStatements: 0,
    transactions: 0,
    autocommits: 0,
    commitGroups: 0,
    roundTrips: 0,
    writes: 0,
  };
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|end|rollback)\b(?!\s+to\b)/i;
const SAVEPOINT = /^\s*savepoint\b/i;
const CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|savepoint|release)\b/i;

/** Per PostgreSQL connection: whether it is inside a transaction, and the write its queries are going out in. */
export interface PostgresConnectionCounter {
  /**
   * Before the query is handed to pg; `startsWrite` when the socket is not corked yet (a new write begins).
   * `awaited`: whether the client waits for its answer before going on; by default every query but BEGIN, which
   * database.ts sends without waiting (it leaves with the transaction's first statement).
   */
  query(sql: string, startsWrite: boolean, awaited?: boolean): void;
}

export class StatementCounter {
  /** Counting happens only while this is true (set it around the work to be counted). */
  active = false;
  counts: StatementCounts = noCounts();
  /** When set, each counted statement is appended. */
  trace: TracedStatement[] | undefined;

  /** Clears the counts (and starts a new trace when `trace`). */
  reset(trace = false): void {
    this.counts = noCounts();
    this.trace = trace ? [] : undefined;
  }

  /** The counts so far, as a copy. */
  snapshot(): StatementCounts {
    return { ...this.counts };
  }

  /** SQLite: a statement about to run; `inTransaction` is the connection's state before it. */
  sqlite(sql: string, inTransaction: boolean): void {
    if (!this.active) return;
    const c = this.counts;
    c.statements += 1;
    let autocommit = false;
    if (BEGIN.test(sql)) {
      // A group's first inTransaction runs in the group's own transaction (src/store/transaction.ts), as does
      // Kysely's db.transaction() (a plain BEGIN).
      c.commitGroups += 1;
      c.transactions += 1;
    } else if (SAVEPOINT.test(sql)) {
      c.transactions += 1; // each later inTransaction of the group
    } else if (!CONTROL.test(sql)) {
      c.dataStatements += 1;
      if (!inTransaction) {
        autocommit = true;
        c.autocommits += 1;
        c.transactions += 1;
      }
    }
    this.trace?.push({ sql, write: undefined, autocommit });
  }

  /** PostgreSQL: a counter for one pooled connection. */
  postgresConnection(): PostgresConnectionCounter {
    let inTransaction = false;
    // Whether the current write carries a query the client waits on (anything but a pipelined BEGIN).
    let waited = true;
    let write = 0;
    return {
      query: (sql, startsWrite, awaited) => {
        if (!this.active) return;
        const c = this.counts;
        if (startsWrite) {
          c.writes += 1;
          write = c.writes;
          waited = false;
        }
        c.statements += 1;
        let autocommit = false;
        const begin = BEGIN.test(sql);
        if (begin) {
          inTransaction = true;
          c.transactions += 1;
          c.commitGroups += 1;
        } else if (END.test(sql)) {
          inTransaction = false;
        } else if (!CONTROL.test(sql)) {
          c.dataStatements += 1;
          if (!inTransaction) {
            autocommit = true;
            c.autocommits += 1;
            c.transactions += 1;
          }
        }
        if ((awaited ?? !begin) && !waited) {
          waited = true;
          c.roundTrips += 1;
        }
        this.trace?.push({ sql, write, autocommit });
      },
    };
  }
}

/** b - a, field by field. */
export function countsBetween(a: StatementCounts, b: StatementCounts): StatementCounts {
  const out = noCounts();
  for (const key of Object.keys(out) as (keyof StatementCounts)[]) out[key] = b[key] - a[key];
  return out;
}
