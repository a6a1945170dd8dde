import { type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Database } from './database.ts';
import * as ledger from './migrations/0001-ledger.ts';
import * as audit from './migrations/0002-audit.ts';
import * as prices from './migrations/0003-prices.ts';
import * as idempotency from './migrations/0004-idempotency.ts';

/**
 * One ordered list of migrations for both engines. A migration that needs engine-specific SQL
 * receives the engine; everything else is written once with Kysely's schema builder.
 */
const MIGRATIONS = [
  ['0001-ledger', ledger],
  ['0002-audit', audit],
  ['0003-prices', prices],
  ['0004-idempotency', idempotency],
] as const;

function provider(database: Database): MigrationProvider {
  return {
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const [name, module] of MIGRATIONS) {
        migrations[name] = { up: (db) => module.up(db, database.engine) };
      }
      return migrations;
    },
  };
}

export interface MigrationReport {
  readonly applied: readonly string[];
}

/** Brings the schema up to date. Safe to run from several nodes at once (Kysely takes a lock). */
export async function migrateToLatest(database: Database): Promise<MigrationReport> {
  const migrator = new Migrator({ db: database.db, provider: provider(database) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
