import type { MonitorContext } from '../services/monitor/check.ts';
import { type MonitorPassReport, monitorPass } from '../services/monitor/pass.ts';
import { type PollLoop, startPollLoop } from './poll-loop.ts';

/** The feed is polled this often when nothing wakes the monitor (SQLite always; PostgreSQL as a fallback). */
export const MONITOR_POLL_MS = 100;
/** The slow sweep of every withdrawal in flight without a verdict runs this often. */
export const MONITOR_SWEEP_MS = 5_000;
/** The full ledger recount (the incremental check runs every pass) runs at the first sweep and then this often, by the monitor's injected clock. */
export const MONITOR_RECOUNT_MS = 60 * 60_000;

/**
 * The independent monitor as a loop: a pass over its feed every MONITOR_POLL_MS, woken at once on PostgreSQL by
 * the feed trigger's NOTIFY, and the slow sweep every MONITOR_SWEEP_MS. Safe beside other monitors: verdicts and
 * findings are written once per withdrawal.
 */
export function startMonitor(
  monitor: MonitorContext,
  options: {
    interval_ms?: number;
    onError: (error: unknown) => void;
    onPass?: (report: MonitorPassReport) => void;
  },
): PollLoop {
  let lastSweep = 0;
  let lastRecount: number | undefined;
  const loop = startPollLoop({
    name: 'monitor',
    interval_ms: options.interval_ms ?? MONITOR_POLL_MS,
    onError: options.onError,
    tick: async () => {
      const sweep = Date.now() - lastSweep >= MONITOR_SWEEP_MS;
      if (sweep) lastSweep = Date.now();
      // The hourly recount reads the injected clock (a simulation that moves time gets its recounts); the first
      // sweep always runs one. The sweep stays on the wall clock: it paces polling, not a delay of the domain.
      const now = monitor.services.clock.now().getTime();
      const recount = sweep && (lastRecount === undefined || now - lastRecount >= MONITOR_RECOUNT_MS);
      if (recount) lastRecount = now;
      const report = await monitorPass(monitor, {
        sweep,
        recount,
        onError: (error) => options.onError(error),
        // Nothing is lost (each is checked again alone), but a batch that keeps failing is a fault to look at.
        onBatchError: (error, ids) =>
          options.onError(
            new Error(`a batch of ${ids.length} monitor checks failed and was checked one by one`, {
              cause: error,
            }),
          ),
      });
      options.onPass?.(report);
    },
  });
  const database = monitor.services.database;
  let unlisten: Promise<(() => Promise<void>) | undefined> = Promise.resolve(undefined);
  if (database.listen !== undefined) {
    unlisten = database
      .listen('drawbridge_monitor', () => loop.wake(), options.onError)
      .catch((error: unknown) => {
        options.onError(error);
        return undefined;
      });
  }
  return {
    wake: () => loop.wake(),
    async stop() {
      await (await unlisten)?.();
      await loop.stop();
    },
  };
}
