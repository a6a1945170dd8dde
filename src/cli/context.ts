import { existsSync } from 'node:fs';
import { type Config, loadConfig } from '../config.ts';
import { DomainError } from '../core/errors.ts';
import type { ServiceContext } from '../services/context.ts';
import type { OperatorActor } from '../services/identity/acting-operator.ts';
import { type Database, openDatabase } from '../store/database.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { terminal } from './terminal.ts';

/**
 * Opens the database the configuration names: PostgreSQL when DATABASE_URL is set, else the SQLite file. The
 * server checkpoints SQLite's WAL on a thread of its own; a short CLI command leaves that to SQLite.
 */
export function openConfiguredDatabase(config: Config, options: { serving?: boolean } = {}): Database {
  if (config.databaseUrl !== undefined) return openDatabase({ engine: 'postgres', url: config.databaseUrl });
  return openDatabase({
    engine: 'sqlite',
    path: config.sqlitePath,
    backgroundCheckpoints: options.serving ?? false,
  });
}

/** What a command does with the database. */
export interface DatabaseUse {
  /**
   * A command that only reads never creates a database: without the SQLite file it stops, naming where it looked.
   * Once it has its answer it says on stderr which database it read.
   */
  readonly read?: boolean;
}

/** Runs `work` against a migrated database and closes it afterwards, whatever happens. */
export async function withDatabase<T>(
  work: (database: Database, config: Config) => Promise<T>,
  use: DatabaseUse = {},
): Promise<T> {
  const config = loadConfig(terminal().env);
  if (use.read === true) {
    if (config.databaseUrl === undefined && !existsSync(config.sqlitePath)) {
      throw new DomainError(
        'NOT_FOUND',
        `no database at ${config.sqlitePath}: start the server (npm start) or run drawbridge migrate, or pass --data-dir`,
        { field: '--data-dir' },
      );
    }
  }
  const database = openConfiguredDatabase(config);
  try {
    await migrateToLatest(database);
    const result = await work(database, config);
    // Said once the answer is in: a refusal stays one line on stderr.
    if (use.read === true) terminal().err(`${describeDatabase(config)}\n`);
    return result;
  } finally {
    await database.close();
  }
}

/** Which database, in a few words and without a password. */
export function describeDatabase(config: Config): string {
  if (config.databaseUrl === undefined) return `read SQLite at ${config.sqlitePath}`;
  const url = new URL(config.databaseUrl);
  return `read PostgreSQL at ${url.host}${url.pathname}`;
}

/** One JSON line on stdout: the CLI's machine-readable answer. */
export function printJson(value: unknown): void {
  terminal().out(`${JSON.stringify(value)}\n`);
}

/** Runs `work` with the same service context the server builds (keys from the environment or data directory). */
export async function withServices<T>(
  work: (context: ServiceContext) => Promise<T>,
  use: DatabaseUse = {},
): Promise<T> {
  const { composeServices } = await import('../composition.ts');
  const { systemClock } = await import('../core/clock.ts');
  return withDatabase(
    async (database, config) => work(await composeServices(config, database, systemClock)),
    use,
  );
}

/**
 * Runs `work` as an authenticated operator (cli/operator-auth.ts): the credentials are read before the database
 * is opened, so a command without them changes nothing; the services check the operator's role, as for the API.
 */
export async function withOperator<T>(
  command: string,
  work: (context: ServiceContext, actor: OperatorActor) => Promise<T>,
  options: { readonly hint?: string; readonly confirm?: () => Promise<void> } & DatabaseUse = {},
): Promise<T> {
  const { asOperator, readCredentials, terminalPrompter } = await import('./operator-auth.ts');
  const credentials = await readCredentials(command, terminal().env, terminalPrompter(), options);
  // A destructive command asks once the credentials are in, before anything is opened.
  await options.confirm?.();
  return withServices(
    (context) => asOperator(context, credentials, (actor) => work(context, actor)),
    options.read === true ? { read: true } : {},
  );
}
