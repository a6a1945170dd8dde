/** What one benchmark reports: each figure beside the floor it is judged against. */
export interface Figure {
  readonly engine: string;
  readonly case: string;
  readonly opsPerSecond: number;
  /** The same work with no service code in the way; undefined when the figure has no floor. */
  readonly floorOpsPerSecond: number | undefined;
  /** opsPerSecond / floorOpsPerSecond. */
  readonly ratio: number | undefined;
  readonly target: number | undefined;
  readonly iterations: number;
  readonly floorIterations: number | undefined;
}

/** A count per unit of work (statements per withdrawal, say), beside the floor's and the most the target allows. */
export interface Count {
  readonly engine: string;
  readonly case: string;
  readonly value: number;
  readonly floorValue: number | undefined;
  /** The target: at most this many; undefined when there is none. */
  readonly atMost: number | undefined;
}

export interface BenchmarkResult {
  readonly figures: readonly Figure[];
  /** Printed in the same table; a count above its `atMost` is below target. */
  readonly counts?: readonly Count[];
  readonly notes: readonly string[];
}

export interface Benchmark {
  readonly name: string;
  run(options: MeasureOptions): Promise<BenchmarkResult>;
}

export interface MeasureOptions {
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface Measurement {
  readonly iterations: number;
  readonly elapsedMs: number;
  readonly opsPerSecond: number;
}

/** A bound on any one loop, far past what a few seconds can reach. */
const MAX_ITERATIONS = 10_000_000;
/** Ours and the floor take turns in slices this long, so a noisy neighbour slows both alike. */
const SLICE_MS = 250;

export type Loop = (n: number) => unknown;

/**
 * Runs `ours` and `floor` back to back (one client each, never overlapping), alternating slices of
 * SLICE_MS: first a warm-up of `warmupMs` each, then `durationMs` each, and counts completed calls.
 * Each loop receives a number unique across all its calls, for fresh ids.
 */
export async function compare(
  ours: Loop,
  floor: Loop,
  options: MeasureOptions,
): Promise<{ ours: Measurement; floor: Measurement }> {
  const counters = [
    { loop: ours, n: 0, count: 0, elapsedMs: 0 },
    { loop: floor, n: 0, count: 0, elapsedMs: 0 },
  ];
  const slice = async (counter: (typeof counters)[number], ms: number, counted: boolean) => {
    const start = performance.now();
    while (performance.now() - start < ms) {
      if (counter.n >= MAX_ITERATIONS) throw new Error(`benchmark loop passed ${MAX_ITERATIONS} iterations`);
      await counter.loop(counter.n++);
      if (counted) counter.count += 1;
    }
    if (counted) counter.elapsedMs += performance.now() - start;
  };
  for (const [total, counted] of [
    [options.warmupMs, false],
    [options.durationMs, true],
  ] as const) {
    for (let spent = 0; spent < total; spent += SLICE_MS) {
      for (const counter of counters) await slice(counter, Math.min(SLICE_MS, total - spent), counted);
    }
  }
  const [o, f] = counters.map((c) => ({
    iterations: c.count,
    elapsedMs: c.elapsedMs,
    opsPerSecond: (c.count * 1000) / c.elapsedMs,
  }));
  return { ours: o!, floor: f! };
}
