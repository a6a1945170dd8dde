import type { AnyDb, MigrationEngine } from './column-types.ts';

export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('price_points')
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('usd_price', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('price_points_pk', ['asset', 'at'])
    .execute();
}
