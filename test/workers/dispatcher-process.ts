/*
 * A dispatcher in its own process, built from the environment as `drawbridge serve` builds it, for the tests that
 * kill one mid-batch or run two side by side. Prints "ready" once looping; runs until killed or SIGTERM.
 * OUTBOX_LEASE_MS, OUTBOX_BATCH and OUTBOX_CONCURRENCY shrink the claim so a test can watch it expire.
 */

import { withServices } from '../../src/cli/context.ts';
import { loadConfig } from '../../src/config.ts';
import { outboxDispatcherOf } from '../../src/workers/outbox-wiring.ts';

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 600_000) throw new Error(`${name} must be 1..600000`);
  return value;
}

await withServices(async (context) => {
  const dispatcher = outboxDispatcherOf(loadConfig(), context, {
    leaseMs: envInt('OUTBOX_LEASE_MS', 60_000),
    batchSize: envInt('OUTBOX_BATCH', 50),
    concurrency: envInt('OUTBOX_CONCURRENCY', 8),
    pollIntervalMs: envInt('OUTBOX_POLL_MS', 50),
    onError: (error) => process.stderr.write(`dispatch round failed: ${String(error)}\n`),
  });
  dispatcher.start();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await dispatcher.close();
});
