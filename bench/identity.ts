import { loadavg } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { hashOpaqueToken } from '../src/core/identity/opaque-token.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { revokeMfa, revokeSessions } from '../src/services/identity/revocation.ts';
import { authenticate, issueSession } from '../src/services/identity/sessions.ts';
import type { Engine } from '../src/store/database.ts';
import { findPrincipal } from '../src/store/identity/principals.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { actingAs } from '../test/support/actors.ts';
import { freshDatabase, testEngines } from '../test/support/engines.ts';
import { testContext } from '../test/support/http.ts';
import type { Benchmark, BenchmarkResult, Figure, MeasureOptions } from './measure.ts';
import { SESSION_LOOKUP } from './pipeline-floor.ts';
import { bulkAccountId, seedBulkAccounts } from './support-bulk-accounts.ts';
import { type FloorDriver, postgresDriver, sqliteDriver } from './support-floor-driver.ts';
import { type LatencySummary, median, summarize } from './support-latency.ts';

/*
 * Mass revocation (DESIGN invariant 9) with 1,000 and then 1,000,000 accounts, each with a live session, in
 * one database per engine: the median time of revokeSessions and revokeMfa for everyone, and whether it grows
 * with the number of accounts. Beside it, the per-request session check (authenticate) on the same tables,
 * against the same lookup sent straight through the driver.
 */

const SIZES = [1_000, 1_000_000] as const;
const REVOKE_WARMUP = 3;
const REVOKE_RUNS = 20;
const AUTH_CALLS = 10_000;
const KNOWN_SESSIONS = 1_000;
const TARGET_REVOKE_MS = 50;
const TARGET_GROWTH = 1.5;
const TARGET_AUTH_P99_MS = 1;
const CLI = actingAs('incident_commander', 'bench');
const ALL = { all: true } as const;

export const identityBenchmark: Benchmark = {
  name: 'identity',
  async run(_options: MeasureOptions): Promise<BenchmarkResult> {
    const figures: Figure[] = [];
    const notes: string[] = [];
    const engines: Record<string, unknown>[] = [];
    for (const { engine, skip } of await testEngines()) {
      if (skip !== undefined) {
        notes.push(`${engine} skipped: ${skip}`);
        continue;
      }
      const outcome = await identityOn(engine);
      figures.push(...outcome.figures);
      notes.push(...outcome.notes);
      engines.push(outcome.detail);
    }
    notes.push(
      `revocations: median of ${REVOKE_RUNS} after ${REVOKE_WARMUP} warm-up; authenticate: ${AUTH_CALLS} sequential calls over ${KNOWN_SESSIONS} live sessions, clock fixed (no last_seen write)`,
    );
    const result = { figures, notes, engines };
    return result;
  },
};

interface AtSize {
  readonly accounts: number;
  readonly seed_ms: number;
  readonly revoke_sessions_median_ms: number;
  readonly revoke_mfa_median_ms: number;
  readonly authenticate: LatencySummary & { readonly per_second: number };
  readonly driver_lookup: LatencySummary & { readonly per_second: number };
  readonly load_average_1m: number;
}

async function identityOn(engine: Engine) {
  const fresh = await freshDatabase(engine, { poolSize: 2 });
  const context: ServiceContext = testContext(fresh.database, new ManualClock('2026-11-27T12:00:00.000Z'));
  const statements = { sessionLookup: SESSION_LOOKUP };
  const driver: FloorDriver =
    engine === 'sqlite'
      ? sqliteDriver(join(fresh.env.DRAWBRIDGE_DATA_DIR!, 'drawbridge.db'), statements)
      : postgresDriver(fresh.env.DATABASE_URL!, statements, 1);
  try {
    const results: AtSize[] = [];
    let seeded = 0;
    for (const size of SIZES) {
      const started = performance.now();
      await seedBulkAccounts(context.database, seeded, size, context.clock.now());
      const seedMs = performance.now() - started;
      // Measure a database at rest, as in production: not one that autovacuum is still digesting after a bulk load.
      if (engine === 'postgres') {
        await sql`vacuum analyze`.execute(context.database.db);
        await sql`checkpoint`.execute(context.database.db);
      }
      seeded = size;
      results.push(await measureAt(context, driver, size, seedMs));
    }
    return report(engine, results);
  } finally {
    await driver.close();
    await fresh.drop();
  }
}

async function measureAt(
  context: ServiceContext,
  driver: FloorDriver,
  size: number,
  seedMs: number,
): Promise<AtSize> {
  // Sessions issued now carry the current epochs (earlier revocations ended the older ones).
  const tokens: string[] = [];
  await inTransaction(context.database, async (tx) => {
    for (let i = 0; i < KNOWN_SESSIONS; i++) {
      const principal = await findPrincipal(tx, bulkAccountId(Math.floor((i * size) / KNOWN_SESSIONS)));
      if (principal === undefined) throw new Error('a seeded account is missing');
      const issued = await issueSession(tx, context, principal, 2, null, {
        ip: '127.0.0.1',
        userAgent: 'bench',
      });
      tokens.push(issued.token);
    }
  });
  const hashes = tokens.map(hashOpaqueToken);
  const timed = async (call: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < KNOWN_SESSIONS; i++) await call(i);
    const samples: number[] = [];
    const started = performance.now();
    for (let i = 0; i < AUTH_CALLS; i++) {
      const began = performance.now();
      await call(i);
      samples.push(performance.now() - began);
    }
    return { ...summarize(samples), per_second: (AUTH_CALLS * 1000) / (performance.now() - started) };
  };
  const auth = await timed((i) => authenticate(context, tokens[i % KNOWN_SESSIONS]!));
  const lookup = await timed(async (i) => {
    const rows = await driver.rows('sessionLookup', [hashes[i % KNOWN_SESSIONS]]);
    if (rows.length !== 1) throw new Error('the driver lookup found no session');
  });
  const revokeTimes = async (revoke: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < REVOKE_WARMUP + REVOKE_RUNS; i++) {
      const began = performance.now();
      await revoke();
      if (i >= REVOKE_WARMUP) samples.push(performance.now() - began);
    }
    return median(samples);
  };
  const sessionsMs = await revokeTimes(() => revokeSessions(context, CLI, ALL));
  const mfaMs = await revokeTimes(() => revokeMfa(context, CLI, ALL, undefined));
  return {
    accounts: size,
    seed_ms: Math.round(seedMs),
    revoke_sessions_median_ms: sessionsMs,
    revoke_mfa_median_ms: mfaMs,
    authenticate: auth,
    driver_lookup: lookup,
    load_average_1m: loadavg()[0]!,
  };
}

function report(engine: Engine, results: readonly AtSize[]) {
  const [small, large] = results;
  if (small === undefined || large === undefined) throw new Error('both sizes are measured');
  const perSecond = (ms: number) => 1000 / ms;
  const growth = (name: string, smallMs: number, largeMs: number): Figure => ({
    engine,
    case: `${name} all: 1M vs 1k accounts (calls/s)`,
    opsPerSecond: perSecond(largeMs),
    floorOpsPerSecond: perSecond(smallMs),
    ratio: smallMs / largeMs,
    target: 1 / TARGET_GROWTH,
    iterations: REVOKE_RUNS,
    floorIterations: REVOKE_RUNS,
  });
  const goal = (name: string, value: number, wanted: number, iterations: number): Figure => ({
    engine,
    case: name,
    opsPerSecond: value,
    floorOpsPerSecond: undefined,
    ratio: value / wanted,
    target: 1,
    iterations,
    floorIterations: undefined,
  });
  const figures: Figure[] = [
    growth('revokeSessions', small.revoke_sessions_median_ms, large.revoke_sessions_median_ms),
    growth('revokeMfa', small.revoke_mfa_median_ms, large.revoke_mfa_median_ms),
    goal(
      `goal: revoke-all < ${TARGET_REVOKE_MS} ms at 1M (as 1000/median)`,
      perSecond(Math.max(large.revoke_sessions_median_ms, large.revoke_mfa_median_ms)),
      perSecond(TARGET_REVOKE_MS),
      REVOKE_RUNS,
    ),
    {
      engine,
      case: 'authenticate at 1M sessions vs driver lookup (calls/s)',
      opsPerSecond: large.authenticate.per_second,
      floorOpsPerSecond: large.driver_lookup.per_second,
      ratio: large.authenticate.per_second / large.driver_lookup.per_second,
      target: undefined,
      iterations: AUTH_CALLS,
      floorIterations: AUTH_CALLS,
    },
    goal(
      `goal: authenticate p99 < ${TARGET_AUTH_P99_MS} ms at 1M (as 1000/p99)`,
      perSecond(large.authenticate.p99_ms),
      perSecond(TARGET_AUTH_P99_MS),
      AUTH_CALLS,
    ),
  ];
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const notes = results.map(
    (r) =>
      `${engine} ${r.accounts} accounts (seeded in ${(r.seed_ms / 1000).toFixed(1)} s): revokeSessions ${ms(r.revoke_sessions_median_ms)}, revokeMfa ${ms(r.revoke_mfa_median_ms)}, authenticate p50 ${ms(r.authenticate.p50_ms)} p99 ${ms(r.authenticate.p99_ms)}, driver lookup p50 ${ms(r.driver_lookup.p50_ms)} p99 ${ms(r.driver_lookup.p99_ms)}; load average ${r.load_average_1m.toFixed(1)}`,
  );
  return { figures, notes, detail: { engine, sizes: results } };
}
