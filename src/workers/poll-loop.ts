/**
 * A long-running loop that runs `tick` every `interval_ms` until stopped. A tick that throws is logged and the
 * loop goes on; ticks never overlap. The loop keeps no state of its own: the database is the coordination point.
 */
export interface PollLoop {
  stop(): Promise<void>;
}

export function startPollLoop(options: {
  name: string;
  interval_ms: number;
  tick: () => Promise<unknown>;
  onError: (error: unknown) => void;
}): PollLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    if (stopped) return;
    try {
      await options.tick();
    } catch (error) {
      options.onError(error);
    }
    if (!stopped) timer = setTimeout(() => (running = run()), options.interval_ms);
  };
  running = run();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
