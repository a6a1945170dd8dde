import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, type Engine, openDatabase } from '../../src/store/database.ts';
import { type MigrationName, migrateToLatest, migrateUpTo } from '../../src/store/migrate.ts';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestEngine {
  readonly engine: Engine;
  /** Why this engine is skipped here, or undefined when it runs. */
  readonly skip: string | undefined;
}

let postgresReachable: Promise<boolean> | undefined;

async function canReachPostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The engines every integration test runs on. Under CI=true an unreachable PostgreSQL is a failure
 * (the test using it will error), never a skip.
 */
export async function testEngines(): Promise<readonly TestEngine[]> {
  postgresReachable ??= canReachPostgres();
  const reachable = await postgresReachable;
  const skip =
    reachable || process.env.CI === 'true' ? undefined : `PostgreSQL unreachable at ${POSTGRES_URL}`;
  // ONLY_ENGINE=sqlite|postgres narrows a local run (a benchmark, a bisect); CI never sets it.
  const only = process.env.ONLY_ENGINE;
  const all: TestEngine[] = [
    { engine: 'sqlite', skip: undefined },
    { engine: 'postgres', skip },
  ];
  return only === undefined || only === '' ? all : all.filter((e) => e.engine === only);
}

export interface FreshDatabase {
  readonly database: Database;
  /** For tests that spawn the CLI or a second node on the same data. */
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

/** A new, migrated, empty database: a temp SQLite file, or a new schema on the PostgreSQL `test` database. */
export async function freshDatabase(
  engine: Engine,
  options: { poolSize?: number; backgroundCheckpoints?: boolean; upTo?: MigrationName } = {},
): Promise<FreshDatabase> {
  const migrate = (database: Database) =>
    options.upTo === undefined ? migrateToLatest(database) : migrateUpTo(database, options.upTo);
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-test-'));
    const database = openDatabase({
      engine: 'sqlite',
      path: join(dir, 'drawbridge.db'),
      backgroundCheckpoints: options.backgroundCheckpoints ?? false,
    });
    await migrate(database);
    return {
      database,
      env: { DRAWBRIDGE_DATA_DIR: dir, DATABASE_URL: '' },
      async drop() {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const database = openDatabase({
    engine: 'postgres',
    url: POSTGRES_URL,
    searchPath: schema,
    poolSize: options.poolSize ?? 10,
  });
  await migrate(database);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    database,
    env: { DATABASE_URL: url.toString() },
    async drop() {
      await database.close();
      const cleanup = new pg.Client({ connectionString: POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`drop schema ${schema} cascade`);
      await cleanup.end();
    },
  };
}
