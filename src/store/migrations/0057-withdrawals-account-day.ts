import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Screening reads the account's withdrawals of the last 24 h at every confirmation (the daily limit and the velocity
 * count: store/withdrawals.ts selectConfirmedSince, by account and time, filtered by state, answering asset and
 * amount). Through withdrawals_account (account_id, created_at) each of those rows was a heap page of its own: an
 * account's rows are spread over the whole table (at 1,000,000 rows in bench/risk.ts, 72 rows of the day were 74
 * heap pages per confirmation). This index carries the columns the read needs, so it is answered from the index
 * (PostgreSQL: an index-only scan where the visibility map is current; SQLite: a covering index). Its leading
 * columns are withdrawals_account's, which it replaces for every other read by account and time.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  if (engine === 'postgres')
    await sql`create index withdrawals_account_day on withdrawals (account_id, created_at) include (state, asset, amount, id)`.execute(
      db,
    );
  else
    await db.schema
      .createIndex('withdrawals_account_day')
      .on('withdrawals')
      .columns(['account_id', 'created_at', 'state', 'asset', 'amount', 'id'])
      .execute();
  await db.schema.dropIndex('withdrawals_account').execute();
}
