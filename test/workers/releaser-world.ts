import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.ts';
import { totpAt } from '../../src/core/mfa/totp.ts';
import { privateKeyFromSeed } from '../../src/core/withdrawals/attestation.ts';
import type { RequestMeta } from '../../src/services/context.ts';
import type { Authenticated } from '../../src/services/identity/sessions.ts';
import { confirmWithdrawal } from '../../src/services/withdrawals/confirm.ts';
import { requestWithdrawal } from '../../src/services/withdrawals/request.ts';
import type { Database } from '../../src/store/database.ts';
import { recordPrice } from '../../src/store/prices.ts';
import type { WithdrawalState } from '../../src/store/schema-withdrawals.ts';
import { type RunningApp, startApp, testContext } from '../support/http.ts';
import { customerId, priceNow, readyCustomer } from '../support/withdrawals.ts';

export const AMOUNT = '0.001';
/** AMOUNT plus the BTC withdrawal fee, in satoshi: what each completed withdrawal takes from its customer. */
export const SPENT_SATS = 110_000n;

/** The keys every process of one test shares, as the environment passes them to a Drawbridge node. */
export interface SharedKeys {
  readonly env: Record<string, string>;
  readonly releaseSeed: Buffer;
  readonly monitorSeed: Buffer;
  readonly totpKey: Buffer;
}

export function sharedKeys(): SharedKeys {
  const releaseSeed = randomBytes(32);
  const monitorSeed = randomBytes(32);
  const totpKey = randomBytes(32);
  return {
    releaseSeed,
    monitorSeed,
    totpKey,
    env: {
      RELEASE_SIGNING_KEY: releaseSeed.toString('base64'),
      MONITOR_SIGNING_KEY: monitorSeed.toString('base64'),
      DRAWBRIDGE_TOTP_KEY: totpKey.toString('base64'),
    },
  };
}

/**
 * The test process's own app, on a manual clock ten days behind the real one: everything it queues (enrolment
 * locks, cooling, cancel windows) is long over by the system clock the child processes read.
 */
export async function seedingApp(database: Database, keys: SharedKeys): Promise<RunningApp> {
  const clock = new ManualClock(new Date(Date.now() - 10 * 24 * 60 * 60_000));
  const base = testContext(database, clock);
  const context = {
    ...base,
    // The nodes sweep unconfirmed requests by their own (real) clock: a request made ten days back must not look
    // expired to them between its request and its confirmation here.
    withdrawals: { ...base.withdrawals, confirmationWindowMs: 11 * 24 * 60 * 60_000 },
    releaseKey: privateKeyFromSeed(keys.releaseSeed),
    monitorPublicKey: createPublicKey(privateKeyFromSeed(keys.monitorSeed)),
    totpKey: keys.totpKey,
  };
  return startApp(database, { context });
}

export interface Payer {
  readonly auth: Authenticated;
  readonly secret: string;
  readonly destinationId: string;
}

/** `count` funded customers with TOTP and a cooled address, made through the real routes. */
export async function readyPayers(running: RunningApp, count: number): Promise<Payer[]> {
  const payers: Payer[] = [];
  for (let n = 0; n < count; n += 1) {
    const customer = await readyCustomer(running, `payer${n}@example.com`, '1');
    const auth: Authenticated = {
      sessionId: 'seeding',
      principalId: await customerId(running, customer.email),
      kind: 'customer',
      role: null,
      aal: 2,
      csrfHash: '',
    };
    payers.push({ auth, secret: customer.secret, destinationId: customer.destinationId });
  }
  await priceNow(running, 'BTC', '60000');
  // The nodes release on the real clock, ten days later: the release rules value what was released by then.
  await recordPrice(running.context.database, {
    asset: 'BTC',
    at: new Date(),
    usdPrice: '60000',
    source: 'test',
  });
  return payers;
}

const SEEDER: RequestMeta = { ip: '192.0.2.1', userAgent: 'releaser-test' };

/**
 * One round: every payer requests AMOUNT and confirms it with this TOTP step's code, through the withdrawal
 * services (the sessions are not what is under test). Each comes out queued with its cancel window already over
 * in real time. Returns the withdrawal ids.
 */
export async function queueRound(running: RunningApp, payers: readonly Payer[]): Promise<string[]> {
  running.clock.advance(30_000);
  return Promise.all(
    payers.map(async (payer) => {
      const { id } = await requestWithdrawal(
        running.context,
        payer.auth,
        { asset: 'BTC', network: 'bitcoin', amount: AMOUNT, destination_id: payer.destinationId },
        SEEDER,
      );
      const proof = { method: 'totp', code: totpAt(payer.secret, running.clock.now()) };
      const confirmed = await confirmWithdrawal(running.context, payer.auth, id, { proof }, SEEDER);
      assert.equal(confirmed.state, 'queued', JSON.stringify(confirmed));
      return id;
    }),
  );
}

export async function countInState(database: Database, state: WithdrawalState): Promise<number> {
  const row = await database.db
    .selectFrom('withdrawals')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('state', '=', state)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countEvents(database: Database, to: WithdrawalState): Promise<number> {
  const row = await database.db
    .selectFrom('withdrawal_events')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('to_state', '=', to)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Polls `check` every 50 ms until it holds, or fails the test after `timeoutMs`. */
export async function eventually(
  label: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ChildNode {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Settles once the process printed its ready line; rejects if it exits first or takes over 40 s. */
  readonly ready: Promise<void>;
  output(): string;
}

/**
 * Starts a Drawbridge process (`args` after `node`); `ready` settles when it prints `readyWhen`. Returned at once,
 * so a test holds the handle (and can stop the process) even when a sibling fails to start. Its own data
 * directory keeps it from writing keys into the working tree; the database comes from `env`.
 */
export function startNode(
  args: readonly string[],
  env: Record<string, string>,
  readyWhen: RegExp,
): ChildNode {
  const dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-node-'));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, DRAWBRIDGE_DATA_DIR: dataDir, SMTP_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  // tsx compiles the sources on a cold start; a hung child must fail the test, not stall it.
  const timeout = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (readyWhen.test(output)) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    void exited.then((code) =>
      reject(new Error(`${args.join(' ')} exited (${code}) before ready: ${output}`)),
    );
  }).finally(() => clearTimeout(timeout));
  // The test awaits `ready` where it needs it; a failure seen only here must not crash the runner.
  ready.catch(() => {});
  return { child, exited, ready, output: () => output };
}

/** The releaser child (releaser-child.ts) with short passes and a fast simulated chain. */
export function startReleaser(env: Record<string, string>): ChildNode {
  return startNode(
    ['--import', 'tsx', join(import.meta.dirname, 'releaser-child.ts')],
    { RELEASER_INTERVAL_MS: '20', SIMULATED_BLOCK_MS: '50', SIMULATED_CONFIRMATIONS: '2', ...env },
    /^ready$/m,
  );
}

/** Ends a process this test started (by its own handle), whatever state it is in. */
export async function stopNode(node: ChildNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  await node.exited;
}

/** A loopback port nothing listens on right now, for a node this test starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** One `drawbridge` command to its end (30 s at most): exit code and standard output. */
