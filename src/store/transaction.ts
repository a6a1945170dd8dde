import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';
import type { Schema } from './schema.ts';

/** A query handle that is inside a transaction. */
export type Tx = Kysely<Schema>;

/**
 * Runs `work` in one transaction. On SQLite the transaction starts with BEGIN IMMEDIATE so it takes
 * the single write lock up front: two processes on one file never deadlock on a lock upgrade, and
 * every read in `work` sees the state it will write over. On PostgreSQL it is READ COMMITTED and
 * code that must serialise takes row locks (`forUpdate`) or advisory locks explicitly.
 */
export async function inTransaction<T>(database: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (database.engine === 'postgres') {
    return database.db.transaction().execute(work);
  }
  return database.db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      const result = await work(connection);
      await sql`commit`.execute(connection);
      return result;
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
}

/** Row locks exist only on PostgreSQL; on SQLite the transaction already holds the single write lock. */
export function lockRows(database: Database): boolean {
  return database.engine === 'postgres';
}
