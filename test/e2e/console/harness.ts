import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import { freePort, until } from '../../support/served.ts';

export { until };

/**
 * The console's browser tests: the server started as `npm start` starts it (bin/drawbridge.mjs serve on an empty
 * data directory, the embedded default with its demo), with the test-only clock (NODE_ENV=test,
 * DRAWBRIDGE_TEST_CLOCK) so a cooling period passes in one request, and Debian's chromium driven by playwright-core.
 */

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');

/** Why the browser tests cannot run here, or undefined; without chromium under CI=true that is a failure. */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `${CHROMIUM} is missing: the console's browser tests are skipped (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`${reason}; under CI=true that is a failure`);
  process.stderr.write(`${reason}\n`);
  return reason;
}

export interface DemoCredentials {
  readonly customer: { email: string; password: string; secret: string; coldWallet: string };
  readonly admin: { email: string; password: string; secret: string };
  readonly commander: { email: string; password: string; secret: string };
}

const TEST_SETTINGS = {
  NODE_ENV: 'test',
  DRAWBRIDGE_TEST_CLOCK: 'true',
  CANCEL_WINDOW_SECONDS: '2',
  FIRST_USE_CANCEL_WINDOW_SECONDS: '2',
  SIMULATED_BLOCK_MS: '200',
  // The clock jumps a day at a time here: sessions outlive the jumps (the browser stays signed in).
  SESSION_IDLE_MINUTES: '1440',
  SESSION_ABSOLUTE_HOURS: '720',
};

export class ConsoleServer {
  private summary = '';

  /** What the server wrote to stderr: its startup summary, then any warning or error it logged (LOG_LEVEL=warn). */
  get stderr(): string {
    return this.summary;
  }
  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
    readonly dataDir: string,
  ) {}

  /**
   * The server as `npm start` runs it, on a free port; `env` adds settings. The tests' own (the test clock, short
   * windows, long sessions) are left out with `plain` (the benchmark measures the embedded default itself).
   */
  static async start(
    env: Record<string, string> = {},
    options: { plain?: boolean } = {},
  ): Promise<ConsoleServer> {
    // What `npm install` (prepare) and `npm start` do when the bundle is missing.
    execFileSync(process.execPath, ['scripts/build-console.mjs', '--if-missing'], { stdio: 'inherit' });
    const dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-console-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['bin/drawbridge.mjs', 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DRAWBRIDGE_DATA_DIR: join(dataDir, 'data'),
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ...(options.plain === true ? {} : TEST_SETTINGS),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const server = new ConsoleServer(child, `http://localhost:${port}`, dataDir);
    child.stderr?.on('data', (chunk: Buffer) => {
      server.summary += chunk.toString('utf8');
    });
    await until(
      'the startup summary',
      async () => (/Try \(the README/.test(server.summary) ? true : undefined),
      60_000,
    );
    return server;
  }

  /** The API at 127.0.0.1 (Node's fetch may try ::1 first for localhost, where nothing listens). */
  get api(): string {
    return this.base.replace('localhost', '127.0.0.1');
  }

  demo(): DemoCredentials {
    const field = (pattern: RegExp) => {
      const match = pattern.exec(this.summary);
      assert.ok(match?.[1], `the startup summary shows ${pattern}`);
      return match[1];
    };
    return {
      customer: {
        email: field(/customer\s+(\S+@\S+)\s+password/),
        password: field(/customer\s+\S+\s+password (\S+)/),
        secret: field(/customer[^\n]*\n\s+authenticator secret ([A-Z2-7]+)/),
        coldWallet: field(/"Cold wallet" (\S+) has cooled/),
      },
      admin: {
        email: field(/admin\s+(\S+@\S+)\s+password/),
        password: field(/admin\s+\S+\s+password (\S+)/),
        secret: field(/admin\s+\S+\s+password \S+\s+authenticator secret ([A-Z2-7]+)/),
      },
      commander: {
        email: field(/incident_commander\s+(\S+@\S+)\s+password/),
        password: field(/incident_commander\s+\S+\s+password (\S+)/),
        secret: field(/incident_commander\s+\S+\s+password \S+\s+authenticator secret ([A-Z2-7]+)/),
      },
    };
  }

  async now(): Promise<Date> {
    const { body } = await this.call('GET', '/__test__/clock');
    return new Date(body.now);
  }

  /** Moves the server's clock forward (the test-only clock). */
  async advance(seconds: number): Promise<void> {
    const { status } = await this.call('POST', '/__test__/clock', { body: { advance_seconds: seconds } });
    assert.equal(status, 200);
  }

  /**
   * A fresh authenticator code: a code is accepted once per 30 s step per account, so the clock moves to the next
   * step first, as a person would wait for the next code.
   */
  async nextCode(secret: string): Promise<string> {
    await this.advance(31);
    return totpAt(secret, await this.now());
  }

  async call(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
    const response = await fetch(`${this.api}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as any };
  }

  /** An operator's bearer token, through the API. */
  async operatorToken(who: { email: string; password: string; secret: string }): Promise<string> {
    const { status, body } = await this.call('POST', '/v1/operator/login', {
      body: {
        email: who.email,
        password: who.password,
        proof: { method: 'totp', code: await this.nextCode(who.secret) },
      },
    });
    assert.equal(status, 200, JSON.stringify(body));
    return body.token;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((resolve) => this.child.once('exit', resolve));
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** One browser per test file; each person gets a context of their own (their own cookies). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A page that records every console error, uncaught exception and CSP violation, so a test can assert there were
 * none (`assertClean`).
 */
export async function watchedPage(context: BrowserContext): Promise<Page & { problems: string[] }> {
  const page = (await context.newPage()) as Page & { problems: string[] };
  page.setDefaultTimeout(10_000);
  page.problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      page.problems.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => page.problems.push(`uncaught: ${error.message}`));
  await page.exposeFunction('__reportCspViolation', (text: string) => page.problems.push(`CSP: ${text}`));
  // Runs in the page before its own scripts (injected by the browser itself, so the page's CSP does not apply).
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (event) => " +
      "window.__reportCspViolation(event.violatedDirective + ' ' + event.blockedURI));",
  );
  return page;
}

export function assertClean(page: { problems: string[] }): void {
  assert.deepEqual(page.problems, [], 'no console errors, uncaught exceptions or CSP violations');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Lets `hours` pass on the server in steps of 12 h, the page reloading between steps so its session stays in use
 * (SESSION_IDLE_MINUTES is at most a day).
 */
export async function passHours(server: ConsoleServer, page: Page, hours: number): Promise<void> {
  for (let left = hours; left > 0; left -= 12) {
    await server.advance(Math.min(12, left) * 3600);
    await page.reload();
    await page.locator('main').waitFor();
  }
}

/**
 * Waits until the withdrawal page shows `state`. When it does not within `timeout_ms`, the failure says what the page
 * showed instead (the state, its meaning, the reason and the history) and what the server logged, so a slow or held
 * withdrawal on a loaded CI machine can be told apart from a broken page.
 */
export async function waitForWithdrawalState(
  server: ConsoleServer,
  page: Page,
  state: string,
  timeout_ms = 30_000,
): Promise<void> {
  try {
    await page.locator(`.state-line .state-${state}`).waitFor({ timeout: timeout_ms });
  } catch (error) {
    const shown = async (selector: string) =>
      (
        await page
          .locator(selector)
          .allTextContents()
          .catch(() => [])
      ).join(' | ');
    const logged = server.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .slice(-20)
      .join('\n');
    throw new Error(
      `the withdrawal did not reach ${state} within ${timeout_ms} ms: ` +
        `the page shows "${await shown('.state-line')}", summary "${await shown('dl.summary')}", ` +
        `history "${await shown('.history li')}"; the server logged:\n${logged}`,
      { cause: error },
    );
  }
}

/** A test file's server and browser: started once before its tests, stopped after; `skip` without chromium. */
export interface ConsoleSuite {
  readonly skip: string | undefined;
  server: ConsoleServer;
  browser: Browser;
}

export function consoleSuite(): ConsoleSuite {
  const suite = { skip: browserSkipReason() } as ConsoleSuite;
  before(async () => {
    if (suite.skip !== undefined) return;
    [suite.server, suite.browser] = await Promise.all([ConsoleServer.start(), launchBrowser()]);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}

/** An operator signed in to the console in a browser context of their own, on the dashboard. */
export async function operatorConsole(
  suite: ConsoleSuite,
  who: { email: string; password: string; secret: string },
): Promise<{ context: BrowserContext; page: Page & { problems: string[] } }> {
  const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await watchedPage(context);
  await page.goto(`${suite.server.base}/operator`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(who.secret));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  return { context, page };
}

/**
 * The demo customer's withdrawal of `amount` BTC to their cooled cold wallet, asked and confirmed through the API (the
 * operators' pages are what these tests drive): its id, the confirmation's answer and a reader of its state.
 */
export async function demoWithdrawal(server: ConsoleServer, amount: string) {
  const demo = server.demo();
  const login = await server.call('POST', '/v1/auth/login', {
    body: {
      email: demo.customer.email,
      password: demo.customer.password,
      proof: { method: 'totp', code: await server.nextCode(demo.customer.secret) },
    },
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const token = login.body.token as string;
  const requested = await server.call('POST', '/v1/withdrawals', {
    token,
    body: { asset: 'BTC', network: 'bitcoin', amount, destination_id: demo.customer.coldWallet },
  });
  assert.equal(requested.status, 201, JSON.stringify(requested.body));
  const id = requested.body.id as string;
  const confirmed = await server.call('POST', `/v1/withdrawals/${id}/confirm`, {
    token,
    body: { proof: { method: 'totp', code: await server.nextCode(demo.customer.secret) } },
  });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  const stateOf = async (): Promise<string> =>
    (await server.call('GET', `/v1/withdrawals/${id}`, { token })).body.state;
  return { id, confirmed: confirmed.body as { state: string }, stateOf };
}
