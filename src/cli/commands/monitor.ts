import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { openConfiguredDatabase } from '../context.ts';
import { terminal } from '../terminal.ts';

/**
 * `drawbridge monitor`: the independent monitor as a process of its own (MONITOR=external on the servers), with its
 * signing key (MONITOR_SIGNING_KEY, or monitor-signing.key in the data directory). `--once` runs one pass with the
 * sweep and prints what it did: for a cron job, or to look.
 */
export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('run the independent monitor: re-verify every approved withdrawal and sign its verdict')
    .option(
      '--once',
      'one pass (feeds, sweep and the full ledger recount), print its report as JSON, and exit',
    )
    .action(async (options: { once?: boolean }) => {
      const { composeServices, composeMonitor } = await import('../../composition.ts');
      const { systemClock } = await import('../../core/clock.ts');
      const config = loadConfig(terminal().env);
      const database = openConfiguredDatabase(config, { serving: options.once !== true });
      await migrateToLatest(database);
      const context = await composeServices(config, database, systemClock);
      const monitor = await composeMonitor(config, context);
      if (options.once === true) {
        const { monitorPass } = await import('../../services/monitor/pass.ts');
        const report = await monitorPass(monitor, { sweep: true, recount: true });
        terminal().out(`${JSON.stringify(report)}\n`);
        await database.close();
        return;
      }
      const { startMonitor } = await import('../../workers/monitor.ts');
      const loop = startMonitor(monitor, {
        onError: (error) => terminal().err(`monitor: ${error instanceof Error ? error.message : error}\n`),
      });
      terminal().err(`monitor running on ${database.engine}; Ctrl-C stops it\n`);
      const stop = async () => {
        await loop.stop();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
