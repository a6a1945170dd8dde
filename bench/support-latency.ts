/** Latency figures of one series of calls, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly mean_ms: number;
}

/** Nearest-rank percentile of an ascending series. */
export function percentile(ascending: readonly number[], p: number): number {
  if (ascending.length === 0) throw new Error('no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError('a percentile is in (0, 100]');
  return ascending[Math.min(ascending.length - 1, Math.ceil((p / 100) * ascending.length) - 1)]!;
}

export function summarize(samples_ms: readonly number[]): LatencySummary {
  const sorted = [...samples_ms].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    count: sorted.length,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted[sorted.length - 1]!),
    mean_ms: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
  };
}

export function median(samples: readonly number[]): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    50,
  );
}

/** What else was running: the 1-minute load average beside the core count, read when a figure is taken. */
export function loadNote(loadAverage1m: number, cores: number): string {
  return `load average ${loadAverage1m.toFixed(1)} on ${cores} cores`;
}
