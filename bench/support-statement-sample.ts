import { totpAt, totpStep } from '../src/core/mfa/totp.ts';
import {
  countsBetween,
  noCounts,
  type StatementCounter,
  type StatementCounts,
  type TracedStatement,
} from '../src/store/statement-counter.ts';
import { type FloorCustomer, floorWithdrawal } from './pipeline-floor.ts';
import type { SteppedClock } from './support-clock.ts';
import type { BenchCustomer } from './support-customers.ts';
import type { FloorDriver } from './support-floor-driver.ts';
import { clientAddress, loopbackClient } from './support-http-client.ts';

/*
 * What a withdrawal sends to the database, counted exactly: a few withdrawals run one after another, outside the
 * timed rounds, with the app's StatementCounter (or the floor's) on, so nothing else is in flight and every
 * statement counted is one of theirs. The last one's statements are kept in order, to be listed and compared
 * with the floor's.
 */

export interface TracedStep extends TracedStatement {
  readonly request: 'create' | 'confirm';
}

export interface Sample {
  readonly withdrawals: number;
  /** Per withdrawal: the create request, the confirm request, and both. */
  readonly create: StatementCounts;
  readonly confirm: StatementCounts;
  readonly total: StatementCounts;
  /** Every statement of the last withdrawal, in the order sent. */
  readonly trace: readonly TracedStep[];
}

/** Counts divided by `units`. */
export function perUnit(counts: StatementCounts, units: number): StatementCounts {
  const out = noCounts();
  for (const key of Object.keys(out) as (keyof StatementCounts)[]) out[key] = counts[key] / units;
  return out;
}

function add(into: StatementCounts, more: StatementCounts): void {
  for (const key of Object.keys(into) as (keyof StatementCounts)[]) into[key] += more[key];
}

/** A moment for anything a request left behind it (a COMMIT queued at setImmediate) to reach the counter. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2));

async function sample(
  counter: StatementCounter,
  count: number,
  one: (i: number, created: () => void) => Promise<void>,
): Promise<Sample> {
  const create = noCounts();
  const confirm = noCounts();
  let trace: TracedStep[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const last = i === count - 1;
      counter.reset(last);
      counter.active = true;
      let afterCreate: StatementCounts | undefined;
      let createdStatements = 0;
      await one(i, () => {
        afterCreate = counter.snapshot();
        createdStatements = counter.trace?.length ?? 0;
      });
      await settle();
      counter.active = false;
      if (afterCreate === undefined) throw new Error('sample: the create step was not marked');
      add(create, afterCreate);
      add(confirm, countsBetween(afterCreate, counter.snapshot()));
      if (last)
        trace = (counter.trace ?? []).map((t, j) => ({
          ...t,
          request: j < createdStatements ? 'create' : 'confirm',
        }));
    }
  } finally {
    counter.active = false;
  }
  const total = { ...create };
  add(total, confirm);
  return {
    withdrawals: count,
    create: perUnit(create, count),
    confirm: perUnit(confirm, count),
    total: perUnit(total, count),
    trace,
  };
}

/** Create + confirm over HTTP, one withdrawal at a time, each customer once (from one client address). */
export async function sampleApp(
  counter: StatementCounter,
  url: string,
  customers: readonly BenchCustomer[],
  clock: SteppedClock,
): Promise<Sample> {
  const client = loopbackClient(url, clientAddress(0));
  try {
    return await sample(counter, customers.length, async (i, created) => {
      const customer = customers[i]!;
      const answer = await client.call('POST', '/v1/withdrawals', {
        token: customer.token,
        body: { asset: 'BTC', network: 'bitcoin', amount: '0.0001', destination_id: customer.destinationId },
      });
      if (answer.status !== 201) throw new Error(`sample: create answered ${answer.status}`);
      await settle();
      created();
      const confirmed = await client.call('POST', `/v1/withdrawals/${answer.body.id}/confirm`, {
        token: customer.token,
        body: { proof: { method: 'totp', code: totpAt(customer.secret, clock.now()) } },
      });
      if (confirmed.status !== 200 || confirmed.body.state !== 'queued')
        throw new Error(`sample: confirm answered ${confirmed.status}: ${JSON.stringify(confirmed.body)}`);
    });
  } finally {
    client.close();
  }
}

/** The floor's withdrawals, one at a time. */
export async function sampleFloor(
  counter: StatementCounter,
  driver: FloorDriver,
  customers: readonly FloorCustomer[],
  clock: SteppedClock,
  email: { subject: string; text: string; html: string },
): Promise<Sample> {
  return sample(counter, customers.length, async (i, created) => {
    await floorWithdrawal(driver, {
      customer: customers[i]!,
      now: () => clock.now(),
      ip: '10.0.0.1',
      totpStep: totpStep(clock.now()),
      email,
      created,
    });
  });
}

/** A statement's text as either engine's driver was given it: `$1, $2` as `?`. */
function normalized(sql: string): string {
  return sql.replace(/\$\d+/g, '?').replace(/\s+/g, ' ').trim();
}

/**
 * A statement with how it was sent: outside any transaction (an autocommit), and on PostgreSQL whether it left in
 * the same socket write as the statement before it. Two lists of these match when the statements, their order,
 * their transactions and (PostgreSQL) their grouping into writes are the same.
 */
function described(list: readonly TracedStatement[]): string[] {
  return list.map((s, i) => {
    const sameWrite = s.write !== undefined && i > 0 && list[i - 1]!.write === s.write;
    return `${sameWrite ? '(same write) ' : ''}${s.autocommit ? '(autocommit) ' : ''}${normalized(s.sql)}`;
  });
}

/**
 * Where the floor's statements differ from the app's (a longest common subsequence of the two lists): each
 * statement only one of them sends, or sends otherwise (in another write, or outside a transaction), prefixed
 * `app:` or `floor:`. Empty when the floor sends what the app sends, as the app sends it.
 */
export function statementDifferences(
  app: readonly TracedStatement[],
  floor: readonly TracedStatement[],
): string[] {
  const a = described(app);
  const f = described(floor);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(f.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = f.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === f[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < f.length) {
    if (i < a.length && j < f.length && a[i] === f[j]) {
      i++;
      j++;
    } else if (j >= f.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`app: ${a[i++]}`);
    } else {
      out.push(`floor: ${f[j++]}`);
    }
  }
  return out;
}
