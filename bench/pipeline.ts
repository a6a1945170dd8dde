import { availableParallelism, loadavg } from 'node:os';
import Fastify from 'fastify';
import { hashOpaqueToken } from '../src/core/identity/opaque-token.ts';
import { totpStep } from '../src/core/mfa/totp.ts';
import { buildApp } from '../src/http/app.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { hashPassword } from '../src/services/identity/passwords.ts';
import { sealAudit } from '../src/store/audit/index.ts';
import type { Database, Engine } from '../src/store/database.ts';
import { StatementCounter, type StatementCounts } from '../src/store/statement-counter.ts';
import { startAuditSealer } from '../src/workers/audit-sealer.ts';
import { testEngines } from '../test/support/engines.ts';
import { testContext } from '../test/support/http.ts';
import type { Benchmark, BenchmarkResult, Count, Figure, MeasureOptions } from './measure.ts';
import { type FloorCustomer, floorWithdrawal, pipelineStatements } from './pipeline-floor.ts';
import { SteppedClock } from './support-clock.ts';
import { addCpu, type CpuSpent, cpuPerUnit, postgresBackends, startCpuMeter } from './support-cpu.ts';
import { type BenchCustomer, seedCustomers } from './support-customers.ts';
import { type FloorDriver, postgresDriver, sqliteDriver } from './support-floor-driver.ts';
import { freshBenchDatabase } from './support-fresh-database.ts';
import { summarize } from './support-latency.ts';
import { type LoadGenerator, startLoadGenerator } from './support-load-worker.ts';
import { pipelineEvidence } from './support-pipeline-evidence.ts';
import {
  perUnit,
  type Sample,
  sampleApp,
  sampleFloor,
  statementDifferences,
} from './support-statement-sample.ts';

/*
 * The withdrawal pipeline end to end over real HTTP: POST /v1/withdrawals then POST .../confirm with a real
 * TOTP code (verified, bound, replay-guarded), the hold placed, screening run, queued. 32 clients keep one
 * request each in flight, each from its own 127.0.0.x address, on a load-generator thread of their own
 * (support-load-worker.ts), so the server's event loop is the server's alone. In every round each customer withdraws once;
 * between rounds the clock jumps 61 s, so every customer has a fresh TOTP step (one code per step per account)
 * and every client a fresh MFA rate-limit window (30 a minute per IP, 10 used). Beside it, in the same rounds:
 * the SQL floor (pipeline-floor.ts) on separate customers and a Fastify hello-world on the same clients.
 * Before the timed rounds, untimed: a few withdrawals one at a time with the app's StatementCounter on (and the
 * floor's), for exact statements, transactions and round trips per withdrawal, and one round of each with the
 * counters on at full concurrency, for the commit groups per withdrawal under load.
 */

const CLIENTS = 32;
const PER_CLIENT = 10;
const ROUND_ADVANCE_MS = 61_000;
const MIN_ROUNDS = 2;
const MAX_ROUNDS = 40;
const POOL_SIZE = 10;
const TARGET_PER_SECOND: Readonly<Record<Engine, number>> = { sqlite: 1000, postgres: 500 };
const TARGET_P99_MS = 50;
const SEAL_INTERVAL_MS = 100;
/** Withdrawals counted one at a time; from one client address, so under the 30 a minute per-IP MFA limit. */
const SAMPLE_WITHDRAWALS = 20;
/** Targets for create + confirm (issue 11): statements, transactions; round trips on PostgreSQL. */
const TARGET_STATEMENTS = 24;
const TARGET_TRANSACTIONS = 2;
const TARGET_ROUND_TRIPS: Readonly<Record<Engine, number | undefined>> = { sqlite: undefined, postgres: 8 };

export const pipelineBenchmark: Benchmark = {
  name: 'pipeline',
  async run(options: MeasureOptions): Promise<BenchmarkResult> {
    const figures: Figure[] = [];
    const counts: Count[] = [];
    const notes: string[] = [];
    const engines: Record<string, unknown>[] = [];
    const passwordHash = await hashPassword('correct horse battery staple');
    for (const { engine, skip } of await testEngines()) {
      if (skip !== undefined) {
        notes.push(`${engine} skipped: ${skip}`);
        continue;
      }
      const outcome = await pipelineOn(engine, options, passwordHash);
      figures.push(...outcome.figures);
      counts.push(...outcome.counts);
      notes.push(...outcome.notes);
      engines.push(outcome.detail);
    }
    notes.push(
      `${CLIENTS} clients in flight, ${CLIENTS * PER_CLIENT} customers per round; load generator on its own thread; app and floor share the main thread; machine has ${availableParallelism()} cores`,
    );
    const result = { figures, counts, notes, engines };
    return result;
  },
};

interface Samples {
  create: number[];
  confirm: number[];
  withdrawal: number[];
  floor: number[];
  hello: number[];
  confirmP50ByRound: number[];
}

async function pipelineOn(engine: Engine, options: MeasureOptions, passwordHash: string) {
  // As `drawbridge serve` opens it: on SQLite the WAL is checkpointed on a thread of its own.
  const counter = new StatementCounter();
  const fresh = await freshBenchDatabase(engine, {
    poolSize: POOL_SIZE,
    backgroundCheckpoints: true,
    counter,
  });
  const clock = new SteppedClock();
  const context: ServiceContext = { ...testContext(fresh.database), clock };
  const customersPerRound = CLIENTS * PER_CLIENT;
  const closers: (() => Promise<unknown> | unknown)[] = [];
  try {
    const seedStarted = performance.now();
    const customers = await seedCustomers(context, customersPerRound, passwordHash, `${engine}-app`);
    const floorCustomers: FloorCustomer[] = (
      await seedCustomers(context, customersPerRound, passwordHash, `${engine}-floor`)
    ).map((c) => ({
      id: c.id,
      email: c.email,
      tokenHash: hashOpaqueToken(c.token),
      destinationId: c.destinationId,
    }));
    const seedMs = performance.now() - seedStarted;

    const app = await buildApp({ context, logLevel: 'silent' });
    const appUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const hello = Fastify();
    hello.get('/hello', async () => ({ hello: 'world' }));
    const helloUrl = await hello.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => hello.close());
    const floorCounter = new StatementCounter();
    const driver: FloorDriver =
      engine === 'sqlite'
        ? sqliteDriver(fresh.path!, pipelineStatements('sqlite'), { counter: floorCounter })
        : postgresDriver(fresh.floorUrl!, pipelineStatements('postgres'), {
            poolSize: POOL_SIZE,
            counter: floorCounter,
            pipelined: true,
          });
    closers.push(() => driver.close());
    // PostgreSQL: the backends of the app's connections and of the floor's, by application_name.
    const backends = fresh.applicationNames === undefined ? undefined : await postgresBackends();
    if (backends !== undefined) closers.push(() => backends.close());
    // Both pools' backends in either meter: the other pool is idle meanwhile, except that the floor's audit
    // entries are sealed through the app's handle.
    const ownBackends =
      backends === undefined || fresh.applicationNames === undefined
        ? undefined
        : () => backends.pids([fresh.applicationNames!.app, fresh.applicationNames!.floor]);
    const load = startLoadGenerator();
    closers.push(() => load.close());
    const lanes = <T>(all: readonly T[]) =>
      Array.from({ length: CLIENTS }, (_, i) => all.slice(i * PER_CLIENT, (i + 1) * PER_CLIENT));
    const appLanes = lanes(customers);
    const floorLanes = lanes(floorCustomers);

    clock.advance(ROUND_ADVANCE_MS);
    await appRound(load, appUrl, appLanes, clock, context.database, undefined);
    const email = await context.database.db
      .selectFrom('outbox')
      .select(['subject', 'body_text as text', 'body_html as html'])
      .where('event', '=', 'withdrawal.confirmed')
      .limit(1)
      .executeTakeFirstOrThrow();
    await floorRound(driver, floorLanes, clock, email, context.database, undefined);
    await helloRound(load, helloUrl, 2 * PER_CLIENT, undefined);

    // Untimed: what a withdrawal sends, one at a time (exact), then under load (commit groups).
    clock.advance(ROUND_ADVANCE_MS);
    const appSample = await sampleApp(counter, appUrl, customers.slice(0, SAMPLE_WITHDRAWALS), clock);
    const floorSample = await sampleFloor(
      floorCounter,
      driver,
      floorCustomers.slice(0, SAMPLE_WITHDRAWALS),
      clock,
      email,
    );
    await sealAudit(context.database);
    clock.advance(ROUND_ADVANCE_MS);
    const appLoaded = await counted(counter, customersPerRound, async () => {
      await load.run({ kind: 'withdrawals', url: appUrl, lanes: appLanes, clockOffsetMs: clock.offsetMs });
    });
    await sealAudit(context.database);
    const floorLoaded = await counted(floorCounter, customersPerRound, () =>
      floorRound(driver, floorLanes, clock, email, context.database, undefined),
    );
    const floorDifferences = statementDifferences(appSample.trace, floorSample.trace);

    const loadBefore = loadavg()[0]!;
    const samples: Samples = {
      create: [],
      confirm: [],
      withdrawal: [],
      floor: [],
      hello: [],
      confirmP50ByRound: [],
    };
    const elapsed = { app: 0, floor: 0, hello: 0 };
    const cpu: { app?: CpuSpent; floor?: CpuSpent } = {};
    let rounds = 0;
    while (rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || elapsed.app < options.durationMs)) {
      clock.advance(ROUND_ADVANCE_MS);
      const confirmedBefore = samples.confirm.length;
      const appMeter = await startCpuMeter(ownBackends);
      elapsed.app += await appRound(load, appUrl, appLanes, clock, context.database, samples);
      cpu.app = addCpu(cpu.app, await appMeter());
      samples.confirmP50ByRound.push(summarize(samples.confirm.slice(confirmedBefore)).p50_ms);
      const floorMeter = await startCpuMeter(ownBackends);
      elapsed.floor += await floorRound(driver, floorLanes, clock, email, context.database, samples);
      cpu.floor = addCpu(cpu.floor, await floorMeter());
      elapsed.hello += await helloRound(load, helloUrl, 2 * PER_CLIENT, samples);
      rounds += 1;
    }
    const loadAfter = loadavg()[0]!;
    const withdrawals = rounds * customersPerRound;
    const appRate = (withdrawals * 1000) / elapsed.app;
    const floorRate = (withdrawals * 1000) / elapsed.floor;
    const helloRate = (samples.hello.length * 1000) / elapsed.hello;
    const latency = {
      create: summarize(samples.create),
      confirm: summarize(samples.confirm),
      withdrawal: summarize(samples.withdrawal),
      floor_withdrawal: summarize(samples.floor),
      hello: summarize(samples.hello),
    };
    const worstP99 = Math.max(latency.create.p99_ms, latency.confirm.p99_ms);
    const evidence = await pipelineEvidence(context, customers[0]!.destinationId, rounds + 1);
    const target = TARGET_PER_SECOND[engine];
    const figures: Figure[] = [
      {
        engine,
        case: 'create+confirm over HTTP vs SQL floor (withdrawals/s)',
        opsPerSecond: appRate,
        floorOpsPerSecond: floorRate,
        ratio: appRate / floorRate,
        target: undefined,
        iterations: withdrawals,
        floorIterations: withdrawals,
      },
      goal(engine, `goal: ${target} confirmed withdrawals/s`, appRate, target, withdrawals),
      goal(
        engine,
        `goal: request p99 < ${TARGET_P99_MS} ms (as 1000/p99)`,
        1000 / worstP99,
        1000 / TARGET_P99_MS,
        withdrawals,
      ),
      {
        engine,
        case: 'Fastify hello-world GET, same clients (requests/s)',
        opsPerSecond: helloRate,
        floorOpsPerSecond: undefined,
        ratio: undefined,
        target: undefined,
        iterations: samples.hello.length,
        floorIterations: undefined,
      },
    ];
    const cpuApp = cpuPerUnit(cpu.app!, withdrawals);
    const cpuFloor = cpuPerUnit(cpu.floor!, withdrawals);
    const cpuNote = (what: string, c: ReturnType<typeof cpuPerUnit>) =>
      `${what} ${c.process_ms.toFixed(2)} ms in this process${c.postgres_ms === undefined ? '' : ` + ${c.postgres_ms.toFixed(2)} ms in its PostgreSQL backends (other postgres processes: ${c.postgres_other_ms?.toFixed(2)} ms, not counted)`}, machine ${c.machine_busy === undefined ? '?' : (100 * c.machine_busy).toFixed(0)}% busy: ${c.cores} cores could do at most ${c.ceiling_per_second.toFixed(0)}/s`;
    const ms = (s: { p50_ms: number; p99_ms: number }) =>
      `p50 ${s.p50_ms.toFixed(1)} / p99 ${s.p99_ms.toFixed(1)} ms`;
    const notes = [
      `${engine}: create ${ms(latency.create)}, confirm ${ms(latency.confirm)}, floor withdrawal ${ms(latency.floor_withdrawal)}, hello ${ms(latency.hello)}`,
      `${engine}: CPU per withdrawal: ${cpuNote('app', cpuApp)}; ${cpuNote('floor', cpuFloor)}`,
      ...statementNotes(engine, appSample, floorSample, appLoaded, floorLoaded, floorDifferences),
      `${engine}: ${rounds} rounds of ${customersPerRound}; confirm p50 by round ${samples.confirmP50ByRound.map((v) => v.toFixed(1)).join(', ')} ms; load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`,
    ];
    const detail = {
      engine,
      customers_per_round: customersPerRound,
      clients: CLIENTS,
      rounds,
      seed_ms: Math.round(seedMs),
      confirmed_per_second: appRate,
      floor_per_second: floorRate,
      hello_requests_per_second: helloRate,
      latency,
      cpu_per_withdrawal: { app: cpuApp, floor: cpuFloor },
      ...statementDetail(engine, appSample, floorSample, appLoaded, floorLoaded, floorDifferences),
      confirm_p50_ms_by_round: samples.confirmP50ByRound,
      load_average_1m: { before: loadBefore, after: loadAfter },
      evidence,
    };
    const counts = statementCounts(engine, appSample.total, floorSample.total);
    return { figures, counts, notes, detail };
  } finally {
    for (const close of closers.reverse()) await close();
    await fresh.drop();
  }
}

/** Counts per withdrawal over a run of `work` with `counter` on. */
async function counted(
  counter: StatementCounter,
  withdrawals: number,
  work: () => Promise<unknown>,
): Promise<StatementCounts> {
  counter.reset();
  counter.active = true;
  try {
    await work();
  } finally {
    counter.active = false;
  }
  return perUnit(counter.snapshot(), withdrawals);
}

function statementCounts(engine: Engine, app: StatementCounts, floor: StatementCounts): Count[] {
  const counts: Count[] = [
    {
      engine,
      case: 'statements per create+confirm (BEGIN/COMMIT/SAVEPOINT included)',
      value: app.statements,
      floorValue: floor.statements,
      atMost: TARGET_STATEMENTS,
    },
    {
      engine,
      case: 'transactions per create+confirm (autocommits included)',
      value: app.transactions,
      floorValue: floor.transactions,
      atMost: TARGET_TRANSACTIONS,
    },
  ];
  const roundTrips = TARGET_ROUND_TRIPS[engine];
  if (roundTrips !== undefined)
    counts.push({
      engine,
      case: 'round trips per create+confirm',
      value: app.roundTrips,
      floorValue: floor.roundTrips,
      atMost: roundTrips,
    });
  return counts;
}

const ROUND_TRIPS_ON_SQLITE =
  'SQLite runs in process: no round trips (each statement is a call into SQLite on the event loop)';

/** For bench/results/pipeline.json: the three figures the issue asks for, and what they are made of. */
function statementDetail(
  engine: Engine,
  app: Sample,
  floor: Sample,
  appLoaded: StatementCounts,
  floorLoaded: StatementCounts,
  floorDifferences: readonly string[],
) {
  const roundTrips = (c: StatementCounts) => (engine === 'postgres' ? c.roundTrips : null);
  return {
    statements_per_withdrawal: app.total.statements,
    transactions_per_withdrawal: app.total.transactions,
    round_trips_per_withdrawal: roundTrips(app.total),
    ...(engine === 'sqlite' ? { round_trips_note: ROUND_TRIPS_ON_SQLITE } : {}),
    statement_targets: {
      statements: TARGET_STATEMENTS,
      transactions: TARGET_TRANSACTIONS,
      round_trips: TARGET_ROUND_TRIPS[engine] ?? null,
    },
    statement_counts: {
      how: `${app.withdrawals} withdrawals one after another, untimed, the app's StatementCounter on (src/store/statement-counter.ts); statements include BEGIN, COMMIT, SAVEPOINT and RELEASE; transactions are inTransaction calls plus statements outside any transaction (autocommits); commit groups are database transactions begun (SQLite: one per group of inTransaction savepoints)`,
      app: { create: app.create, confirm: app.confirm, create_and_confirm: app.total },
      floor: { create: floor.create, confirm: floor.confirm, create_and_confirm: floor.total },
      under_load: {
        how: `one untimed round of ${CLIENTS} clients in flight with the counters on (no audit sealer running)`,
        app: appLoaded,
        floor: floorLoaded,
      },
    },
    floor_matches_app: floorDifferences.length === 0,
    floor_differences: floorDifferences,
    statements_of_one_withdrawal: app.trace.map((t) => ({
      request: t.request,
      ...(engine === 'postgres' ? { write: t.write } : {}),
      autocommit: t.autocommit,
      sql: t.sql,
    })),
  };
}

function statementNotes(
  engine: Engine,
  app: Sample,
  floor: Sample,
  appLoaded: StatementCounts,
  floorLoaded: StatementCounts,
  floorDifferences: readonly string[],
): string[] {
  const line = (c: StatementCounts) =>
    `${fmt(c.statements)} statements (${fmt(c.dataStatements)} data), ${fmt(c.transactions)} transactions (${fmt(c.autocommits)} autocommits), ${fmt(c.commitGroups)} commit groups${engine === 'postgres' ? `, ${fmt(c.roundTrips)} round trips` : ''}`;
  return [
    `${engine}: per create+confirm, app: ${line(app.total)} (create ${fmt(app.create.statements)} statements${engine === 'postgres' ? ` in ${fmt(app.create.roundTrips)} round trips` : ''}, confirm ${fmt(app.confirm.statements)}${engine === 'postgres' ? ` in ${fmt(app.confirm.roundTrips)}` : ''}); floor: ${line(floor.total)}${engine === 'sqlite' ? `; ${ROUND_TRIPS_ON_SQLITE}` : ''}`,
    `${engine}: under load (${CLIENTS} in flight), commit groups per withdrawal: app ${fmt(appLoaded.commitGroups)}, floor ${fmt(floorLoaded.commitGroups)}; statements app ${fmt(appLoaded.statements)}, floor ${fmt(floorLoaded.statements)}`,
    floorDifferences.length === 0
      ? `${engine}: the floor sends the app's statements, in the app's order and transactions${engine === 'postgres' ? ' and socket writes' : ''}`
      : `${engine}: the floor's statements differ from the app's (${floorDifferences.length}): ${floorDifferences.map((d) => d.slice(0, 90)).join(' | ')}`,
  ];
}

const fmt = (value: number) => String(Number(value.toFixed(2)));

function goal(engine: Engine, name: string, value: number, wanted: number, iterations: number): Figure {
  return {
    engine,
    case: name,
    opsPerSecond: value,
    floorOpsPerSecond: undefined,
    ratio: value / wanted,
    target: 1,
    iterations,
    floorIterations: undefined,
  };
}

/** Each customer withdraws once: create, then confirm with the current TOTP code. Returns the round's ms. */
async function appRound(
  load: LoadGenerator,
  url: string,
  lanes: readonly (readonly BenchCustomer[])[],
  clock: SteppedClock,
  database: Database,
  samples: Samples | undefined,
): Promise<number> {
  // The audit sealer runs beside the server, as `drawbridge serve` runs it; the round ends when its
  // entries are sealed.
  const sealer = startAuditSealer(database, {
    interval_ms: SEAL_INTERVAL_MS,
    onError: (error) => console.error('audit sealer', error),
  });
  const started = performance.now();
  const result = await load.run({ kind: 'withdrawals', url, lanes, clockOffsetMs: clock.offsetMs });
  await sealer.stop();
  await sealAudit(database);
  const elapsedMs = performance.now() - started;
  if (samples !== undefined) {
    samples.create.push(...result.create);
    samples.confirm.push(...result.confirm);
    for (const [i, ms] of result.create.entries()) samples.withdrawal.push(ms + result.confirm[i]!);
  }
  return elapsedMs;
}

async function floorRound(
  driver: FloorDriver,
  lanes: readonly (readonly FloorCustomer[])[],
  clock: SteppedClock,
  email: { subject: string; text: string; html: string },
  database: Database,
  samples: Samples | undefined,
): Promise<number> {
  const started = performance.now();
  await Promise.all(
    lanes.map(async (lane, i) => {
      for (const customer of lane) {
        const began = performance.now();
        await floorWithdrawal(driver, {
          customer,
          now: () => clock.now(),
          ip: `10.0.0.${i + 1}`,
          totpStep: totpStep(clock.now()),
          email,
        });
        samples?.floor.push(performance.now() - began);
      }
    }),
  );
  // The floor's audit entries are chained as the app's are (the same sealing statements, through Kysely).
  await sealAudit(database);
  return performance.now() - started;
}

async function helloRound(
  load: LoadGenerator,
  url: string,
  perClient: number,
  samples: Samples | undefined,
): Promise<number> {
  const result = await load.run({ kind: 'hello', url, clients: CLIENTS, perClient });
  samples?.hello.push(...result.hello);
  return result.elapsedMs;
}
