import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/*
 * Where a run's CPU went, read from /proc: this process (every thread: the event loop, the load generator, SQLite's
 * checkpointer, V8's helpers), PostgreSQL's processes on this machine (the benchmarks reach it on 127.0.0.1), and the
 * machine as a whole. Divided by the work done, it tells how many cores a target rate would need.
 */

export interface CpuSpent {
  /** CPU milliseconds of this process. */
  readonly processMs: number;
  /** CPU milliseconds of every `postgres` process; undefined where /proc cannot be read. */
  readonly postgresMs: number | undefined;
  /** Share of the machine's CPU time that was busy (not idle or waiting on I/O), 0..1. */
  readonly machineBusy: number | undefined;
  readonly wallMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function postgresTicks(): number | undefined {
  let ticks = 0;
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
      ticks += Number.parseInt(fields[11]!, 10) + Number.parseInt(fields[12]!, 10);
    }
  } catch {
    return undefined;
  }
  return ticks;
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

/** Starts measuring (PostgreSQL's processes too when `postgres`); the returned function ends the measurement. */
export function startCpuMeter(postgres: boolean): () => CpuSpent {
  const wall = performance.now();
  const process0 = process.cpuUsage();
  const postgres0 = postgres ? postgresTicks() : undefined;
  const machine0 = machineTicks();
  return () => {
    const used = process.cpuUsage(process0);
    const postgres1 = postgres ? postgresTicks() : undefined;
    const machine1 = machineTicks();
    return {
      processMs: (used.user + used.system) / 1000,
      postgresMs:
        postgres0 === undefined || postgres1 === undefined ? undefined : (postgres1 - postgres0) * TICK_MS,
      machineBusy:
        machine0 === undefined || machine1 === undefined || machine1.total === machine0.total
          ? undefined
          : (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
      wallMs: performance.now() - wall,
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
  const totalMs = processMs + (postgresMs ?? 0);
  return {
    process_ms: processMs,
    postgres_ms: postgresMs,
    total_ms: totalMs,
    machine_busy: spent.machineBusy,
    cores: availableParallelism(),
    ceiling_per_second: (availableParallelism() * 1000) / totalMs,
  };
}
