/**
 * A long-running loop that runs `tick` every `interval_ms` until stopped. A tick that throws is logged and the
 * loop goes on; ticks never overlap. The loop keeps no state of its own: the database is the coordination point.
 */
export interface PollLoop {
  stop(): Promise<void>;
  /** Runs the next tick now (or right after the one running), instead of at the end of the interval. */
  wake(): void;
}

export function startPollLoop(options: {
  name: string;
  interval_ms: number;
  tick: () => Promise<unknown>;
  onError: (error: unknown) => void;
}): PollLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let again = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    if (stopped) return;
    timer = undefined;
    ticking = true;
    try {
      await options.tick();
    } catch (error) {
      options.onError(error);
    }
    ticking = false;
    if (stopped) return;
    const delay = again ? 0 : options.interval_ms;
    again = false;
    timer = setTimeout(() => (running = run()), delay);
  };
  running = run();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    wake() {
      if (stopped) return;
      if (ticking) {
        again = true;
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      running = run();
    },
  };
}
