import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { invalidInput } from '../../core/errors.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { openConfiguredDatabase } from '../context.ts';
import { terminal } from '../terminal.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the HTTP API (SQLite under $DRAWBRIDGE_DATA_DIR, or PostgreSQL when DATABASE_URL is set)',
    )
    .action(async () => {
      // Loaded here, not at the top: other commands should not pay for the HTTP stack's start-up.
      const { composeServer } = await import('../../composition.ts');
      const { systemClock, SteppedSystemClock } = await import('../../core/clock.ts');
      const { buildApp } = await import('../../http/app.ts');
      const { consoleBuilt } = await import('../../http/console.ts');
      const config = loadConfig(terminal().env);
      // The localhost default is the embedded demo's: a deployment on PostgreSQL would email customers links to
      // localhost and bind their passkeys to it, so there it must be said.
      if (config.databaseUrl !== undefined && !terminal().env.PUBLIC_URL)
        throw invalidInput(
          'PUBLIC_URL',
          'is required with DATABASE_URL: emails link to it and passkeys are bound to its host',
        );
      const database = openConfiguredDatabase(config, { serving: true });
      await migrateToLatest(database);
      // DRAWBRIDGE_TEST_CLOCK is refused by loadConfig outside NODE_ENV=test and with DATABASE_URL.
      const testClock = config.testClock ? new SteppedSystemClock() : undefined;
      const server = await composeServer(config, database, testClock ?? systemClock);
      const consoleDir = fileURLToPath(new URL('../../../web/dist/', import.meta.url));
      const hasConsole = consoleBuilt(consoleDir);
      const app = await buildApp({
        ...server.app,
        testClock,
        consoleDir: hasConsole ? consoleDir : undefined,
      });
      if (!hasConsole) app.log.warn('the console is not built (npm run build:console): serving the API only');
      let demo: Awaited<ReturnType<typeof import('../../services/demo-seed.ts').seedDemo>>;
      if (server.seedsDemo) {
        const { seedDemo } = await import('../../services/demo-seed.ts');
        demo = await seedDemo(server.context);
        if (demo !== undefined) app.log.info({ customer: demo.customer.email }, 'seeded a demo');
      }
      app.log.info(server.custodyDescription, 'custody signer');
      server.workers.start((error, what) => app.log.error({ err: error }, what), app.log);
      const stop = async (signal: string) => {
        app.log.info({ signal }, 'shutting down');
        await server.workers.stop();
        await app.close();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      try {
        await app.listen({ host: config.host, port: config.port });
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
        terminal().err(`${config.host}:${config.port} is in use: set PORT (or HOST) to another\n`);
        await server.workers.stop();
        await database.close();
        process.exit(1);
      }
      const { startupSummary } = await import('../startup-summary.ts');
      const { VERSION: version } = await import('../../version.ts');
      terminal().err(startupSummary({ version, config, url: config.publicUrl, demo, console: hasConsole }));
    });
}
