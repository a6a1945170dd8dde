import { type Config, loadConfig } from '../config.ts';
import type { ServiceContext } from '../services/context.ts';
import type { OperatorActor } from '../services/identity/acting-operator.ts';
import { type Database, openDatabase } from '../store/database.ts';
import { migrateToLatest } from '../store/migrate.ts';

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

/** Runs `work` against a migrated database and closes it afterwards, whatever happens. */
export async function withDatabase<T>(work: (database: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = openConfiguredDatabase(config);
  try {
    await migrateToLatest(database);
    return await work(database, config);
  } finally {
    await database.close();
  }
}

/** One JSON line on stdout: the CLI's machine-readable answer. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs `work` with the same service context the server builds (keys from the environment or data directory). */
export async function withServices<T>(work: (context: ServiceContext) => Promise<T>): Promise<T> {
  const { composeServices } = await import('../composition.ts');
  const { systemClock } = await import('../core/clock.ts');
  return withDatabase(async (database, config) => work(await composeServices(config, database, systemClock)));
}

/**
 * Runs `work` as an authenticated operator (cli/operator-auth.ts): the credentials are read before the database
 * is opened, so a command without them changes nothing; the services check the operator's role, as for the API.
 */
export async function withOperator<T>(
  command: string,
  work: (context: ServiceContext, actor: OperatorActor) => Promise<T>,
  options: { readonly hint?: string } = {},
): Promise<T> {
  const { asOperator, readCredentials, terminalPrompter } = await import('./operator-auth.ts');
  const credentials = await readCredentials(command, process.env, terminalPrompter(), options);
  return withServices((context) => asOperator(context, credentials, (actor) => work(context, actor)));
}
