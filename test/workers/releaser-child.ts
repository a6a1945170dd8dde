/*
 * A releaser in its own process, with the embedded monitor beside it and custody built from the environment as
 * `drawbridge serve` builds them (system clock, the simulated chain with SIMULATED_BLOCK_MS / SIMULATED_CONFIRMATIONS), for the tests that kill one mid-release or run
 * one beside another node. RELEASER_INTERVAL_MS shortens the pause between passes. Prints "ready" once looping;
 * runs until killed or SIGTERM.
 */
import { withServices } from '../../src/cli/context.ts';
import { composeCustody, composeMonitor } from '../../src/composition.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/core/clock.ts';
import { startMonitor } from '../../src/workers/monitor.ts';
import { startReleaser } from '../../src/workers/releaser.ts';

const interval = Number(process.env.RELEASER_INTERVAL_MS ?? 1000);
if (!Number.isInteger(interval) || interval < 1 || interval > 60_000)
  throw new Error('RELEASER_INTERVAL_MS must be 1..60000');

await withServices(async (context) => {
  const config = loadConfig();
  const custody = composeCustody(config, context, systemClock);
  const releaser = startReleaser(context, custody, {
    interval_ms: interval,
    onError: (error) => process.stderr.write(`releaser tick failed: ${String(error)}\n`),
  });
  const monitor = startMonitor(await composeMonitor(config, context), {
    onError: (error) => process.stderr.write(`monitor pass failed: ${String(error)}\n`),
  });
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await releaser.stop();
  await monitor.stop();
});
