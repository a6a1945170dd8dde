import { sql } from 'kysely';
import { WITHDRAWAL_STATES } from '../../core/withdrawals/states.ts';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * A request not confirmed in time now ends in `expired` (it used to stay awaiting_confirmation, or be cancelled
 * when someone tried to confirm it). The state CHECK of 0009 is widened to the core's list, and the expiry sweep
 * finds its rows by (state, expires_at). A database made by 0009 after this change already has the new list; one
 * made before gets it here.
 *
 * PostgreSQL replaces the column's CHECK. SQLite cannot alter a constraint: the table is rebuilt the way SQLite
 * documents (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes"): foreign keys off,
 * a new table from the old one's SQL with the new list, rows copied, the old dropped, the new renamed, its indexes
 * made again, foreign keys checked, all in one transaction.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await setWithdrawalStates(db, engine, WITHDRAWAL_STATES);
  await db.schema
    .createIndex('withdrawals_expiring')
    .on('withdrawals')
    .columns(['state', 'expires_at'])
    .execute();
}

/** Makes the withdrawals' state CHECK allow exactly `states` (exported for the test that rebuilds an older one). */
export async function setWithdrawalStates(
  db: AnyDb,
  engine: MigrationEngine,
  states: readonly string[],
): Promise<void> {
  const list = `(${states.map((s) => `'${s}'`).join(', ')})`;
  if (engine === 'postgres') {
    await sql`alter table withdrawals drop constraint if exists withdrawals_state_check`.execute(db);
    await sql`alter table withdrawals add constraint withdrawals_state_check check (state in ${sql.raw(list)})`.execute(
      db,
    );
  } else {
    await rebuildSqliteWithdrawals(db, list);
  }
}

const STATE_CHECK = /"state" text not null check \(state in \([^)]*\)\)/;

async function rebuildSqliteWithdrawals(db: AnyDb, list: string): Promise<void> {
  const table = await sql<{
    sql: string;
  }>`select sql from sqlite_master where type = 'table' and name = 'withdrawals'`.execute(db);
  const createSql = table.rows[0]?.sql;
  if (createSql === undefined || !STATE_CHECK.test(createSql)) {
    throw new Error('migration 0019: the withdrawals table is not as 0009-0018 made it; not rebuilding it');
  }
  const rebuilt = createSql
    .replace(STATE_CHECK, `"state" text not null check (state in ${list})`)
    .replace(/^CREATE TABLE "withdrawals"/, 'CREATE TABLE "withdrawals_rebuilt"');
  const indexes = await sql<{ sql: string }>`
    select sql from sqlite_master where type = 'index' and tbl_name = 'withdrawals' and sql is not null`.execute(
    db,
  );
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await sql.raw(rebuilt).execute(db);
      await sql`insert into withdrawals_rebuilt select * from withdrawals`.execute(db);
      await sql`drop table withdrawals`.execute(db);
      await sql`alter table withdrawals_rebuilt rename to withdrawals`.execute(db);
      for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
      const broken = await sql`pragma foreign_key_check`.execute(db);
      if (broken.rows.length > 0) throw new Error('migration 0019: foreign keys broken by the rebuild');
      await sql`commit`.execute(db);
    } catch (error) {
      await sql`rollback`.execute(db);
      throw error;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
