import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { POSTGRES_URL } from '../test/support/engines.ts';

/*
 * Where a run's CPU went, read from /proc: this process (every thread: the event loop, the load generator, SQLite's
 * checkpointer, V8's helpers), the PostgreSQL backends serving the benchmark's own connections (the benchmarks reach
 * PostgreSQL on 127.0.0.1; the caller names the backends, found in pg_stat_activity by application_name), and the
 * machine as a whole. Every other `postgres` process (the server's background processes, and other clients'
 * backends: other people's test runs on a shared machine) is reported apart, never added to the benchmark's cost.
 * Divided by the work done, it tells how many cores a target rate would need.
 */

export interface CpuSpent {
  /** CPU milliseconds of this process. */
  readonly processMs: number;
  /** CPU milliseconds of the benchmark's own PostgreSQL backends; undefined where /proc cannot be read. */
  readonly postgresMs: number | undefined;
  /** CPU milliseconds of every other `postgres` process on the machine (background processes, other clients). */
  readonly postgresOtherMs: number | undefined;
  /** Share of the machine's CPU time that was busy (not idle or waiting on I/O), 0..1. */
  readonly machineBusy: number | undefined;
  readonly wallMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Ticks (utime + stime) of every `postgres` process, by pid; undefined where /proc cannot be read. */
function postgresTicks(): Map<number, number> | undefined {
  const ticks = new Map<number, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // the process ended while listed
      }
      if (!stat.includes(' (postgres) ')) continue;
      // Fields after the command: state is field 3; utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(pid), Number.parseInt(fields[11]!, 10) + Number.parseInt(fields[12]!, 10));
    }
  } catch {
    return undefined;
  }
  return ticks;
}

/**
 * Ticks between two readings, split into the given backends' and everyone else's. A backend that started in
 * between counts from zero; one that ended in between is lost (its last ticks cannot be read any more).
 */
function postgresSpent(
  before: Map<number, number>,
  after: Map<number, number>,
  own: ReadonlySet<number>,
): { own: number; other: number } {
  const spent = { own: 0, other: 0 };
  for (const [pid, ticks] of after) {
    const delta = ticks - (before.get(pid) ?? 0);
    if (own.has(pid)) spent.own += delta;
    else spent.other += delta;
  }
  return spent;
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    const ticks = cpu.map((field) => Number.parseInt(field, 10));
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = ticks[3]! + ticks[4]!;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring; with `backends` (the pids of the benchmark's PostgreSQL connections, asked at the start and at
 * the end, so that connections opened in between count too) PostgreSQL's processes as well. The returned function
 * ends the measurement.
 */
export async function startCpuMeter(
  backends?: () => Promise<readonly number[]>,
): Promise<() => Promise<CpuSpent>> {
  const own0 = backends === undefined ? [] : await backends();
  const wall = performance.now();
  const process0 = process.cpuUsage();
  const postgres0 = backends === undefined ? undefined : postgresTicks();
  const machine0 = machineTicks();
  return async () => {
    const used = process.cpuUsage(process0);
    const postgres1 = backends === undefined ? undefined : postgresTicks();
    const machine1 = machineTicks();
    const wallMs = performance.now() - wall;
    const own = new Set([...own0, ...(backends === undefined ? [] : await backends())]);
    const postgres =
      postgres0 === undefined || postgres1 === undefined
        ? undefined
        : postgresSpent(postgres0, postgres1, own);
    return {
      processMs: (used.user + used.system) / 1000,
      postgresMs: postgres === undefined ? undefined : postgres.own * TICK_MS,
      postgresOtherMs: postgres === undefined ? undefined : postgres.other * TICK_MS,
      machineBusy:
        machine0 === undefined || machine1 === undefined || machine1.total === machine0.total
          ? undefined
          : (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
      wallMs,
    };
  };
}

/** Sums measurements of several runs (busy share weighted by wall time). */
export function addCpu(a: CpuSpent | undefined, b: CpuSpent): CpuSpent {
  if (a === undefined) return b;
  const wallMs = a.wallMs + b.wallMs;
  return {
    processMs: a.processMs + b.processMs,
    postgresMs:
      a.postgresMs === undefined || b.postgresMs === undefined ? undefined : a.postgresMs + b.postgresMs,
    postgresOtherMs:
      a.postgresOtherMs === undefined || b.postgresOtherMs === undefined
        ? undefined
        : a.postgresOtherMs + b.postgresOtherMs,
    machineBusy:
      a.machineBusy === undefined || b.machineBusy === undefined
        ? undefined
        : (a.machineBusy * a.wallMs + b.machineBusy * b.wallMs) / wallMs,
    wallMs,
  };
}

/** CPU per unit of work, and the rate this machine's cores could reach at that cost if nothing else ran. */
export function cpuPerUnit(spent: CpuSpent, units: number) {
  const processMs = spent.processMs / units;
  const postgresMs = spent.postgresMs === undefined ? undefined : spent.postgresMs / units;
  const postgresOtherMs = spent.postgresOtherMs === undefined ? undefined : spent.postgresOtherMs / units;
  const totalMs = processMs + (postgresMs ?? 0);
  return {
    process_ms: processMs,
    postgres_ms: postgresMs,
    /** Not part of total_ms: PostgreSQL's background processes and other clients' backends, per unit. */
    postgres_other_ms: postgresOtherMs,
    total_ms: totalMs,
    machine_busy: spent.machineBusy,
    cores: availableParallelism(),
    ceiling_per_second: (availableParallelism() * 1000) / totalMs,
  };
}

/**
 * The pids of the PostgreSQL backends serving connections with the given application names (pg_stat_activity),
 * asked over a connection of the meter's own, which is not among them.
 */
export async function postgresBackends(url = POSTGRES_URL): Promise<{
  pids(applicationNames: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
}> {
  const meter = new URL(url);
  meter.searchParams.set('application_name', 'drawbridge-bench-cpu-meter');
  const client = new pg.Client({ connectionString: meter.toString() });
  await client.connect();
  return {
    async pids(applicationNames) {
      const result = await client.query<{ pid: number }>(
        'select pid from pg_stat_activity where application_name = any($1::text[])',
        [applicationNames],
      );
      return result.rows.map((row) => Number(row.pid));
    },
    close: () => client.end(),
  };
}
