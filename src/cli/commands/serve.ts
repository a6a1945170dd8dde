import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { openConfiguredDatabase } from '../context.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the HTTP API (SQLite under $DRAWBRIDGE_DATA_DIR, or PostgreSQL when DATABASE_URL is set)',
    )
    .action(async () => {
      // Loaded here, not at the top: other commands should not pay for the HTTP stack's start-up.
      const { composeServer } = await import('../../composition.ts');
      const { systemClock } = await import('../../core/clock.ts');
      const { buildApp } = await import('../../http/app.ts');
      const config = loadConfig();
      const database = openConfiguredDatabase(config, { serving: true });
      await migrateToLatest(database);
      const server = await composeServer(config, database, systemClock);
      const app = await buildApp(server.app);
      if (server.seedsDemo) {
        const { seedDemo } = await import('../../services/demo-seed.ts');
        const demo = await seedDemo(server.context);
        if (demo !== undefined) app.log.info({ demo }, 'seeded a demo customer and operator (shown once)');
      }
      app.log.info(server.custodyDescription, 'custody signer');
      server.workers.start((error, what) => app.log.error({ err: error }, what));
      const stop = async (signal: string) => {
        app.log.info({ signal }, 'shutting down');
        await server.workers.stop();
        await app.close();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      await app.listen({ host: config.host, port: config.port });
    });
}
