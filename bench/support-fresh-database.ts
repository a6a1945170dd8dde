import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, type Engine, openDatabase } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import type { StatementCounter } from '../src/store/statement-counter.ts';
import { POSTGRES_URL } from '../test/support/engines.ts';

/*
 * test/support/engines.ts's freshDatabase, with what the pipeline benchmark needs besides: a StatementCounter on
 * the app's handle, and on PostgreSQL an application_name on the app's connections and one for the floor's, so
 * the CPU meter (support-cpu.ts) finds the benchmark's own backends in pg_stat_activity and nobody else's.
 */

export interface BenchDatabase {
  readonly database: Database;
  /** SQLite: the database file. */
  readonly path: string | undefined;
  /** PostgreSQL: the URL of the schema, for the floor's own pool (with the floor's application_name). */
  readonly floorUrl: string | undefined;
  /** PostgreSQL: application_name of the app's connections and of the floor's. */
  readonly applicationNames: { readonly app: string; readonly floor: string } | undefined;
  drop(): Promise<void>;
}

export async function freshBenchDatabase(
  engine: Engine,
  options: { poolSize: number; backgroundCheckpoints: boolean; counter: StatementCounter },
): Promise<BenchDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-'));
    const path = join(dir, 'drawbridge.db');
    const database = openDatabase({
      engine: 'sqlite',
      path,
      backgroundCheckpoints: options.backgroundCheckpoints,
      counter: options.counter,
    });
    await migrateToLatest(database);
    return {
      database,
      path,
      floorUrl: undefined,
      applicationNames: undefined,
      async drop() {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const tag = randomBytes(6).toString('hex');
  const schema = `t_${tag}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const applicationNames = { app: `drawbridge-bench-app-${tag}`, floor: `drawbridge-bench-floor-${tag}` };
  const named = (applicationName: string) => {
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('application_name', applicationName);
    return url.toString();
  };
  const database = openDatabase({
    engine: 'postgres',
    url: named(applicationNames.app),
    searchPath: schema,
    poolSize: options.poolSize,
    counter: options.counter,
  });
  await migrateToLatest(database);
  const floorUrl = new URL(named(applicationNames.floor));
  floorUrl.searchParams.set('options', `-c search_path=${schema}`);
  return {
    database,
    path: undefined,
    floorUrl: floorUrl.toString(),
    applicationNames,
    async drop() {
      await database.close();
      const cleanup = new pg.Client({ connectionString: POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`drop schema ${schema} cascade`);
      await cleanup.end();
    },
  };
}
