import type { Command } from 'commander';
import { migrateToLatest } from '../../store/migrate.ts';
import { openConfiguredDatabase, printJson } from '../context.ts';
import { terminal } from '../terminal.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('bring the database schema up to date (also done at every start)')
    .action(async () => {
      // Not withDatabase: that migrates first, and this command reports what it applied itself.
      const { loadConfig } = await import('../../config.ts');
      const database = openConfiguredDatabase(loadConfig(terminal().env));
      try {
        const report = await migrateToLatest(database);
        printJson({ engine: database.engine, applied: report.applied });
      } finally {
        await database.close();
      }
    });
}
