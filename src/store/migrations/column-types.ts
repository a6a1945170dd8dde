import { type Kysely, type RawBuilder, sql } from 'kysely';

export type MigrationEngine = 'sqlite' | 'postgres';

/** Base-unit amounts reach 2^127: TEXT of digits on SQLite, exact NUMERIC on PostgreSQL. */
export function amountType(engine: MigrationEngine): RawBuilder<unknown> {
  return engine === 'postgres' ? sql`numeric(40,0)` : sql`text`;
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against no fixed schema
export type AnyDb = Kysely<any>;
