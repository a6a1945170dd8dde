import { type RawBuilder, sql } from 'kysely';

export type MigrationEngine = 'sqlite' | 'postgres';

/** Base-unit amounts reach 2^127: TEXT of digits on SQLite, exact NUMERIC on PostgreSQL. */
export function amountType(engine: MigrationEngine): RawBuilder<unknown> {
  return engine === 'postgres' ? sql`numeric(40,0)` : sql`text`;
}
