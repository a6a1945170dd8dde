import type { Command } from 'commander';
import { migrateToLatest } from '../../store/migrate.ts';
import { printJson, withDatabase } from '../context.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('bring the database schema up to date (also done at every start)')
    .action(async () => {
      await withDatabase(async (database) => {
        const report = await migrateToLatest(database);
        printJson({ engine: database.engine, applied: report.applied });
      });
    });
}
