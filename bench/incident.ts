import { loadavg } from 'node:os';
import { sql } from 'kysely';
import pg from 'pg';
import { driveContainment, startContainment } from '../src/services/incidents/containment.ts';
import { haltForIncident } from '../src/services/incidents/halt-resume.ts';
import { openIncident } from '../src/services/incidents/incidents.ts';
import { incidentLosses } from '../src/services/incidents/losses.ts';
import { renderedIncidentReport } from '../src/services/incidents/report.ts';
import { revokeForIncident } from '../src/services/incidents/revoke.ts';
import type { Database, Engine } from '../src/store/database.ts';
import { StatementCounter } from '../src/store/statement-counter.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { actingAs } from '../test/support/actors.ts';
import { testEngines } from '../test/support/engines.ts';
import { testContext } from '../test/support/http.ts';
import type { Benchmark, BenchmarkResult, Count } from './measure.ts';
import { bulkAccountId, seedBulkAccounts } from './support-bulk-accounts.ts';
import { SteppedClock } from './support-clock.ts';
import { freshBenchDatabase } from './support-fresh-database.ts';
import { inFlightId, seedHeldWithdrawals } from './support-in-flight.ts';
import { seedWithdrawalHistory } from './support-withdrawal-history.ts';

/*
 * The incident playbook at scale (issue 14), in process through the services, on a database of BENCH_INCIDENT_ACCOUNTS
 * accounts (1,000,000; each with a live session) and BENCH_INCIDENT_HISTORY past withdrawals (1,000,000), both seeded
 * by the database itself (support-bulk-accounts.ts, support-withdrawal-history.ts):
 *
 * 1. Halt plus revoke-all: haltForIncident (global) then revokeForIncident (every session and every MFA), as the
 *    commander's two calls; HALT_SAMPLES times, each timed alone. Target: < 100 ms.
 * 2. Losses and report for an incident whose affected set is the 2022 one's shape: 483 accounts, AFFECTED past
 *    withdrawals among the million (their states as history has them: most completed, so lost; some cancelled or
 *    expired, so prevented), marked by the monitor, half priced at confirmation, half from the price history:
 *    incidentLosses then renderedIncidentReport (md), timed together. Target: < 10 s.
 * 3. Containment: BENCH_INCIDENT_IN_FLIGHT (10,000) queued withdrawals, each with its ledger hold, over 1,000
 *    accounts; startContainment (scope all) + driveContainment at the default batch size, timed together. Target:
 *    < 10 s on SQLite. On PostgreSQL, beside it: the very statements it sent (captured from pg's client, in order)
 *    replayed through a bare pg client on a second identical set (ids mapped onto it), one statement at a time.
 */

function sized(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1000 || value > 2_000_000)
    throw new Error(`${name} must be 1000..2000000`);
  return value;
}

const ACCOUNTS = sized('BENCH_INCIDENT_ACCOUNTS', 1_000_000);
const HISTORY = sized('BENCH_INCIDENT_HISTORY', 1_000_000);
const IN_FLIGHT = sized('BENCH_INCIDENT_IN_FLIGHT', 10_000);
const SCALED_DOWN = ACCOUNTS < 1_000_000 || HISTORY < 1_000_000 || IN_FLIGHT < 10_000;
const IN_FLIGHT_ACCOUNTS = 1000;
const AFFECTED_ACCOUNTS = 483;
const AFFECTED = 3000;
const HALT_SAMPLES = 5;
const POOL_SIZE = 10;
const TARGET_HALT_MS = 100;
const TARGET_REPORT_MS = 10_000;
const TARGET_CONTAIN_MS = 10_000;
const COMMANDER = actingAs('incident_commander', 'bench-commander');
const RISK = actingAs('risk_analyst', 'bench-analyst');

export const incidentBenchmark: Benchmark = {
  name: 'incident',
  async run(): Promise<BenchmarkResult> {
    const counts: Count[] = [];
    const notes: string[] = [];
    const engines: Record<string, unknown>[] = [];
    if (SCALED_DOWN)
      notes.push(
        `SCALED DOWN (BENCH_INCIDENT_*): ${ACCOUNTS} accounts, ${HISTORY} past withdrawals, ${IN_FLIGHT} in flight; the issue's figures are at 1,000,000 / 1,000,000 / 10,000`,
      );
    for (const { engine, skip } of await testEngines()) {
      if (skip !== undefined) {
        notes.push(`${engine} skipped: ${skip}`);
        continue;
      }
      const outcome = await incidentOn(engine);
      counts.push(...outcome.counts);
      engines.push(outcome.detail);
    }
    notes.push(
      `in process, no HTTP; ${ACCOUNTS} accounts with a session each, ${HISTORY} past withdrawals, ${IN_FLIGHT} in flight over ${IN_FLIGHT_ACCOUNTS} accounts; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end`,
    );
    const result = { figures: [], counts, notes, engines };
    return result;
  },
};

const ms = (start: number) => Math.round((performance.now() - start) * 10) / 10;
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function incidentOn(engine: Engine) {
  // Before the pool opens: each connection binds pg's query() when it connects (database.ts).
  const captured: Captured[] = [];
  const capture = capturePg();
  const fresh = await freshBenchDatabase(engine, {
    poolSize: POOL_SIZE,
    backgroundCheckpoints: true,
    counter: new StatementCounter(),
  });
  const clock = new SteppedClock();
  const context = { ...testContext(fresh.database), clock };
  const database = fresh.database;
  try {
    const load = loadavg()[0]!;
    let started = performance.now();
    await seedBulkAccounts(database, 0, ACCOUNTS, clock.now());
    const accountsMs = ms(started);
    started = performance.now();
    await seedWithdrawalHistory(database, {
      count: HISTORY,
      now: clock.now(),
      spanMs: 7 * 24 * 60 * 60_000,
      accounts: ACCOUNTS,
      destinations: 50_000,
      bench: {
        accountId: bulkAccountId(0),
        destinationId: 'hist-dest-0',
        address: 'bc1qhistory0000000000',
        accountEvery: HISTORY + 1,
        destinationEvery: HISTORY + 1,
      },
    });
    const historyMs = ms(started);
    console.log(
      `incident/${engine}: seeded ${ACCOUNTS} accounts in ${accountsMs} ms, ${HISTORY} withdrawals in ${historyMs} ms`,
    );

    // 1. Halt plus revoke-all.
    const incident = await openIncident(context, COMMANDER, {
      title: 'Forged approvals',
      severity: 'critical',
    });
    const halt: number[] = [];
    for (let i = 0; i < HALT_SAMPLES; i++) {
      const t = performance.now();
      await haltForIncident(context, COMMANDER, incident.id, { scope: 'global', reason: 'forged approvals' });
      await revokeForIncident(context, COMMANDER, incident.id, { sessions: true, mfa: true });
      halt.push(ms(t));
    }

    // 2. Losses and report.
    await markAffected(database, incident.id, clock.now());
    const t2 = performance.now();
    const losses = await incidentLosses(context, RISK, incident.id);
    const lossesMs = ms(t2);
    const report = await renderedIncidentReport(context, RISK, incident.id, 'md');
    const reportMs = ms(t2) - lossesMs;
    const reportTotal = ms(t2);
    const lossesSummary = JSON.stringify(losses).length;

    // 3. Containment.
    started = performance.now();
    await seedHeldWithdrawals(database, {
      prefix: 'b000',
      count: IN_FLIGHT,
      accounts: IN_FLIGHT_ACCOUNTS,
      at: clock.now(),
    });
    const inFlightMs = ms(started);
    const contained = await openIncident(context, COMMANDER, { title: 'Contain', severity: 'critical' });
    if (engine === 'postgres') capture.into = captured;
    const t3 = performance.now();
    let view: Awaited<ReturnType<typeof driveContainment>>;
    try {
      const job = await startContainment(context, COMMANDER, contained.id, {
        scope: 'all',
        reason: 'incident',
      });
      view = await driveContainment(context, COMMANDER, job.id);
    } finally {
      capture.into = undefined;
    }
    const containMs = ms(t3);
    if (view.cancelled !== IN_FLIGHT)
      throw new Error(`containment cancelled ${view.cancelled}, not ${IN_FLIGHT}`);
    let floorMs: number | undefined;
    if (engine === 'postgres') {
      await seedHeldWithdrawals(database, {
        prefix: 'c000',
        count: IN_FLIGHT,
        accounts: IN_FLIGHT_ACCOUNTS,
        at: clock.now(),
      });
      floorMs = await replay(database, fresh.floorUrl!, captured, [incident.id, contained.id]);
    }
    const after = loadavg()[0]!;
    const counts: Count[] = [
      {
        engine,
        case: `halt+revoke-all ms (median of ${HALT_SAMPLES})`,
        value: median(halt),
        floorValue: undefined,
        atMost: TARGET_HALT_MS,
      },
      {
        engine,
        case: 'halt+revoke-all ms (worst)',
        value: Math.max(...halt),
        floorValue: undefined,
        atMost: TARGET_HALT_MS,
      },
      {
        engine,
        case: `losses+report ms (${AFFECTED} withdrawals)`,
        value: reportTotal,
        floorValue: undefined,
        atMost: TARGET_REPORT_MS,
      },
      {
        engine,
        case: `contain ${IN_FLIGHT} ms`,
        value: containMs,
        floorValue: floorMs,
        atMost: engine === 'sqlite' ? TARGET_CONTAIN_MS : undefined,
      },
    ];
    return {
      counts,
      detail: {
        engine,
        load_average_1m: { before: load, after },
        seed_ms: { accounts: accountsMs, history: historyMs, in_flight: inFlightMs },
        halt_revoke_ms: halt,
        losses_ms: lossesMs,
        report_md_ms: reportMs,
        report_md_chars: typeof report.body === 'string' ? report.body.length : 0,
        losses_json_chars: lossesSummary,
        containment: {
          ms: containMs,
          cancelled: view.cancelled,
          batches: view.batches,
          per_withdrawal_ms: containMs / IN_FLIGHT,
          ...(floorMs === undefined
            ? {}
            : { bare_pg_replay_ms: floorMs, statements: captured.length, ratio: containMs / floorMs }),
        },
      },
    };
  } finally {
    await fresh.drop();
    capture.uninstall();
  }
}

/**
 * The 2022 shape: AFFECTED past withdrawals (every HISTORY/AFFECTED-th) moved onto AFFECTED_ACCOUNTS accounts and
 * marked unauthorized by the monitor; half carry the price stored at confirmation, the rest fall back to an hourly
 * price history.
 */
async function markAffected(database: Database, incidentId: string, now: Date): Promise<void> {
  const step = Math.floor(HISTORY / AFFECTED);
  const at = now.toISOString();
  await inTransaction(database, async (tx) => {
    const points = Array.from({ length: 8 * 24 }, (_, h) => ({
      asset: 'BTC',
      at: new Date(now.getTime() - h * 3_600_000).toISOString(),
      usd_price: '42000.5',
      source: 'bench',
    }));
    await tx.insertInto('price_points').values(points).execute();
    for (let from = 0; from < AFFECTED; from += 500) {
      const rows = [];
      for (let k = from; k < Math.min(AFFECTED, from + 500); k++) {
        const id = `00000000-0000-7000-a000-${String(k * step).padStart(12, '0')}`;
        const account = bulkAccountId(k % AFFECTED_ACCOUNTS);
        await tx
          .updateTable('withdrawals')
          .set({ account_id: account, ...(k % 2 === 0 ? { usd_price: '42001.25', usd_price_at: at } : {}) })
          .where('id', '=', id)
          .execute();
        rows.push({
          incident_id: incidentId,
          withdrawal_id: id,
          account_id: account,
          classification: 'unauthorized' as const,
          marked_by: 'monitor',
          marked_at: at,
          note: null,
        });
      }
      await tx.insertInto('incident_withdrawals').values(rows).execute();
    }
  });
  if (database.engine === 'postgres')
    await sql`analyze incident_withdrawals, price_points`.execute(database.db);
}

interface Captured {
  readonly text: string;
  readonly values: readonly unknown[];
}

/**
 * Hooks pg's Client.prototype.query: while `into` is set, every query any pg client of this process sends is
 * recorded there, in order. Installed before the pool connects (each connection binds query() then).
 */
function capturePg(): { into: Captured[] | undefined; uninstall(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const hook: { into: Captured[] | undefined; uninstall(): void } = {
    into: undefined,
    uninstall: () => {
      proto.query = original;
    },
  };
  proto.query = function (this: unknown, ...args: unknown[]) {
    const [first, second] = args;
    const into = hook.into;
    if (into !== undefined) {
      if (typeof first === 'string') into.push({ text: first, values: Array.isArray(second) ? second : [] });
      else if (first !== null && typeof first === 'object' && 'text' in first) {
        const q = first as { text: string; values?: unknown[] };
        into.push({ text: q.text, values: q.values ?? (Array.isArray(second) ? second : []) });
      }
    }
    return original.apply(this, args);
  };
  return hook;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Replays `captured` on a bare pg client, one statement at a time, onto the second in-flight set: the first set's
 * withdrawal ids become the second's, ids that existed before (accounts, ledger accounts, the incidents)
 * stay, and ids the run minted (the job, events, moves, audit entries) get fresh ones, so nothing collides. Answers the ms.
 */
async function replay(
  database: Database,
  url: string,
  captured: readonly Captured[],
  keep: readonly string[],
): Promise<number> {
  const kept = new Set<string>(keep);
  for (const row of await database.db.selectFrom('ledger_accounts').select('id').execute()) kept.add(row.id);
  const minted = new Map<string, string>();
  const mapId = (id: string) => {
    if (kept.has(id) || id.startsWith('00000000-0000-7000-8000-')) return id;
    if (id.startsWith('00000000-0000-7000-b000-')) return id.replace('-b000-', '-c000-');
    let fresh = minted.get(id);
    if (fresh === undefined) {
      fresh = crypto.randomUUID();
      minted.set(id, fresh);
    }
    return fresh;
  };
  const mapValue = (value: unknown): unknown =>
    typeof value === 'string'
      ? value.replace(UUID, mapId).replace(/inflight-digest-b000-/g, 'inflight-digest-c000-')
      : value;
  const statements = captured.map((c) => ({ text: c.text, values: c.values.map(mapValue) }));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Untimed first statement: the connection is warm, as the pool's are.
    await client.query('select 1');
    const t = performance.now();
    for (const statement of statements) await client.query(statement.text, statement.values as unknown[]);
    const elapsed = ms(t);
    const left = await database.db
      .selectFrom('withdrawals')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('id', '>=', inFlightId('c000', 0))
      .where('state', '=', 'queued')
      .executeTakeFirstOrThrow();
    if (Number(left.n) !== 0) throw new Error(`the replay left ${left.n} of the second set queued`);
    return elapsed;
  } finally {
    await client.end();
  }
}
