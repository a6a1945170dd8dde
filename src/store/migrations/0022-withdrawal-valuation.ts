import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The USD value of a withdrawal as screening valued it at confirmation, and the price point it used (the price, its
 * time and source): losses and claims are counted from what was decided, not from today's price. NULL when no
 * fresh price was known (screening then held it) and for withdrawals confirmed before this column existed.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  // One column per ALTER: SQLite adds one at a time.
  for (const column of ['usd_value', 'usd_price', 'usd_price_at', 'usd_price_source']) {
    await db.schema.alterTable('withdrawals').addColumn(column, 'text').execute();
  }
}
