import type { Command } from 'commander';
import { printJson } from '../context.ts';
import { terminal } from '../terminal.ts';

/** `drawbridge config`: the effective configuration, secrets masked, each value's origin; opens no database. */
export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (secrets masked) and where each value came from')
    .action(async () => {
      const { describeConfig } = await import('../../config.ts');
      printJson(describeConfig(terminal().env));
    });
}
