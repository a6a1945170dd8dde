import type { Command } from 'commander';
import { terminal } from '../terminal.ts';

/**
 * `drawbridge simulate incident-2022 [--accounts N] [--seed S] [--out DIR]`: the January 2022 incident replayed on a
 * fresh database under a simulated clock: population, ordinary traffic, the attacker's 483 accounts approved without
 * a second factor below the services, the monitor's detection and halt, then the playbook run by two operators and
 * the report. Prints the closing table and the checks; exits 1 when a check fails.
 */
export function registerSimulate(program: Command): void {
  const simulate = program.command('simulate').description('replays of real incidents on a fresh database');
  simulate
    .command('incident-2022')
    .description(
      'January 2022: 483 accounts drained without a second factor, and the playbook (progress on stderr)',
    )
    .option('--accounts <n>', 'customers (2-100000)', '10000')
    .option('--seed <s>', 'the seed: the same seed gives the same run', '1')
    .option('--out <dir>', 'where the database and results go (must not hold a replay yet)', 'incident-2022')
    .action(async (o: { accounts: string; seed: string; out: string }) => {
      const { replayIncident2022 } = await import('../../simulation/incident-2022/replay.ts');
      let last = '';
      const result = await replayIncident2022({
        accounts: o.accounts,
        seed: o.seed,
        outDir: o.out,
        progress: (step, done, total) => {
          const line = `${step}: ${done}/${total}`;
          if (terminal().errIsTTY) terminal().err(`\r${line}`);
          else if (done === total && line !== last) terminal().err(`${line}\n`);
          last = line;
        },
      });
      if (terminal().errIsTTY) terminal().err('\n');
      terminal().out(`${result.text}\nreport and figures in ${result.out}\n`);
      if (!result.ok) terminal().exitCode = 1;
    });
}
