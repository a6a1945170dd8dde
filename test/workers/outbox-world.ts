import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { devMailboxSender } from '../../src/adapters/email/email-sender.ts';
import { destinationPolicy } from '../../src/adapters/webhooks/destination-policy.ts';
import { httpWebhookSender } from '../../src/adapters/webhooks/sender.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { ANTI_PHISHING_SETTING, notifyPrincipal } from '../../src/services/notify.ts';
import { createWebhookEndpoint } from '../../src/services/webhooks.ts';
import { insertPrincipal, type Principal } from '../../src/store/identity/principals.ts';
import { recordSetting } from '../../src/store/identity/settings-history.ts';
import type { OutboxRow } from '../../src/store/outbox.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import {
  createOutboxDispatcher,
  type OutboxDispatcher,
  type OutboxDispatcherOptions,
} from '../../src/workers/outbox-dispatcher.ts';
import { actingAs } from '../support/actors.ts';

/** Loopback only, as in the embedded default: the receivers in these tests listen on 127.0.0.1. */
export const LOOPBACK_ONLY = destinationPolicy({ allowedHosts: [], allowLoopback: true });

/** A customer with an anti-phishing code in force, made straight in the store. */
export async function customerWithCode(
  context: ServiceContext,
  email: string,
  code: string,
): Promise<Principal> {
  return inTransaction(context.database, async (tx) => {
    const at = new Date(context.clock.now().getTime() - 60_000).toISOString();
    const principal = await insertPrincipal(tx, {
      kind: 'customer',
      email,
      passwordHash: 'not-used-here',
      role: null,
      now: at,
    });
    await recordSetting(tx, {
      principalId: principal.id,
      setting: ANTI_PHISHING_SETTING,
      value: code,
      effectiveAt: at,
    });
    return principal;
  });
}

/** The security email a lock would send, written to the outbox as the identity services do. */
export async function securityEmail(context: ServiceContext, principal: Principal): Promise<OutboxRow> {
  return inTransaction(context.database, (tx) =>
    notifyPrincipal(tx, context, principal, {
      event: 'account.locked',
      headline: 'Your account was locked',
      meta: { ip: '203.0.113.7', userAgent: 'test-agent' },
    }),
  );
}

export async function loopbackEndpoint(
  context: ServiceContext,
  url: string,
  events: '*' | string[] = '*',
): Promise<{ id: string; secret: string }> {
  return createWebhookEndpoint(context, actingAs('admin'), LOOPBACK_ONLY, { url, events });
}

export function dispatcherFor(
  context: ServiceContext,
  overrides: Partial<OutboxDispatcherOptions> = {},
): OutboxDispatcher {
  return createOutboxDispatcher({
    database: context.database,
    clock: context.clock,
    secretKey: context.totpKey,
    email: devMailboxSender,
    webhooks: httpWebhookSender({ timeoutMs: 5_000 }),
    destinations: LOOPBACK_ONLY,
    random: () => 0.5,
    ...overrides,
  });
}

export interface ReceivedWebhook {
  readonly id: string;
  /** Path and query the request was made to. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Most requests for one webhook-id that were in flight at the same moment, per id. */
  readonly peakInFlight: Map<string, number>;
  inFlight(): number;
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1. `answer` picks the status for the n-th request (0-based); `delayMs` holds each
 * answer back, so a test can catch a dispatcher mid-delivery.
 */
export async function startReceiver(
  options: { answer?: (n: number, request: ReceivedWebhook) => number; delayMs?: number } = {},
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const current = new Map<string, number>();
  const peak = new Map<string, number>();
  let inFlight = 0;
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    );
    const message = {
      id: headers['webhook-id'] ?? '',
      path: request.url ?? '',
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    const n = received.length;
    received.push(message);
    inFlight += 1;
    const now = (current.get(message.id) ?? 0) + 1;
    current.set(message.id, now);
    peak.set(message.id, Math.max(peak.get(message.id) ?? 0, now));
    if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    current.set(message.id, (current.get(message.id) ?? 1) - 1);
    inFlight -= 1;
    response.statusCode = options.answer?.(n, message) ?? 204;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    peakInFlight: peak,
    inFlight: () => inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SmtpSink {
  readonly url: string;
  readonly messages: { readonly to: string[]; readonly raw: string }[];
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 that keeps every message it is given. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The readable text of a raw MIME message: quoted-printable soft breaks and escapes undone. */
export function readableMime(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export async function outboxRow(context: ServiceContext, id: string): Promise<OutboxRow> {
  const row = await context.database.db
    .selectFrom('outbox')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  assert.ok(row, `no outbox row ${id}`);
  return row;
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (then fails with `what`). */
export async function eventually(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export interface DispatcherProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/**
 * Starts test/workers/dispatcher-process.ts in its own process on the same database as `context` (its env), with
 * the same sealing key, loopback receivers allowed and the dev mailbox for email. Resolves once it is looping.
 */
export async function spawnDispatcher(
  context: ServiceContext,
  databaseEnv: Record<string, string>,
  knobs: Record<string, string> = {},
): Promise<DispatcherProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-dispatcher-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'dispatcher-process.ts')],
    {
      env: {
        ...process.env,
        DRAWBRIDGE_DATA_DIR: dataDir,
        ...databaseEnv,
        DRAWBRIDGE_TOTP_KEY: context.totpKey.toString('base64'),
        ALLOW_LOOPBACK_WEBHOOKS: 'true',
        SMTP_URL: '',
        ...knobs,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('ready\n')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    void exited.then((code) => reject(new Error(`dispatcher exited (${code}) before ready: ${output}`)));
  });
  // tsx compiles the sources on a cold start; a hung child must fail the test, not stall it.
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await ready;
  } finally {
    clearTimeout(timeout);
  }
  return { child, exited, output: () => output };
}

/** Ends a dispatcher process this test started (by its own handle), whatever state it is in. */
export async function killDispatcher(process: DispatcherProcess, signal: NodeJS.Signals = 'SIGKILL') {
  if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill(signal);
  await process.exited;
}
