import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDrawbridgeClient } from 'drawbridge/client';
import { Webhook } from 'standardwebhooks';
import { totpAt } from '../../src/core/mfa/totp.ts';
import { freePort, until } from '../support/served.ts';

/**
 * The README's story, end to end, against the server started exactly as `npm start` starts it (bin/drawbridge.mjs
 * serve on an empty data directory, the embedded default: SQLite, dev mailbox, simulated chain and prices), on the
 * real clock. The only settings given are the demo's short cancel windows and a free port. The credentials are read
 * from the startup summary, as a person would read them.
 */

const WINDOW_SECONDS = '2';

let dataDir: string;
let child: ChildProcess;
let base: string;
let summary = '';

async function call(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const response = await fetch(`${base}${path}`, {
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

function summaryField(pattern: RegExp): string {
  const match = pattern.exec(summary);
  assert.ok(match?.[1], `the startup summary shows ${pattern}:\n${summary}`);
  return match[1];
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-readme-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['bin/drawbridge.mjs', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DRAWBRIDGE_DATA_DIR: join(dataDir, 'data'),
      PORT: String(port),
      CANCEL_WINDOW_SECONDS: WINDOW_SECONDS,
      FIRST_USE_CANCEL_WINDOW_SECONDS: WINDOW_SECONDS,
      SIMULATED_BLOCK_MS: '300',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    summary += chunk.toString('utf8');
  });
  await until(
    'the startup summary',
    async () => (/Try \(the README/.test(summary) ? true : undefined),
    60_000,
  );
});

after(async () => {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

test('the README walk-through: sign in, withdraw to the cooled demo address, watch it complete, with emails and webhooks', async () => {
  const email = summaryField(/customer\s+(\S+@\S+)\s+password/);
  const password = summaryField(/customer\s+\S+\s+password (\S+)/);
  const secret = summaryField(/customer[^\n]*\n\s+authenticator secret ([A-Z2-7]+)/);
  const cooled = summaryField(/"Cold wallet" (\S+) has cooled/);
  const adminEmail = summaryField(/admin\s+(\S+@\S+)\s+password/);
  const adminPassword = summaryField(/admin\s+\S+\s+password (\S+)/);
  const adminSecret = summaryField(/admin\s+\S+\s+password \S+\s+authenticator secret ([A-Z2-7]+)/);

  // The integrator's receiver, registered by the demo admin.
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  const receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const operator = await call('POST', '/v1/operator/login', {
      body: {
        email: adminEmail,
        password: adminPassword,
        proof: { method: 'totp', code: totpAt(adminSecret, new Date()) },
      },
    });
    assert.equal(operator.status, 200, JSON.stringify(operator.body));
    const endpoint = await call('POST', '/v1/operator/webhooks', {
      token: operator.body.token,
      body: {
        url: receiverUrl,
        events: ['withdrawal.confirmed', 'withdrawal.broadcast', 'withdrawal.completed'],
      },
    });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));

    // 1. Sign in with the password and the authenticator's code (through the typed client, as an integrator would).
    const signedIn = await createDrawbridgeClient(base).POST('/v1/auth/login', {
      body: { email, password, proof: { method: 'totp', code: totpAt(secret, new Date()) } },
    });
    assert.ok(signedIn.data, JSON.stringify(signedIn.error));
    const token = signedIn.data.token;
    const drawbridge = createDrawbridgeClient(base, token);
    const balances = await call('GET', '/v1/balances', { token });
    assert.deepEqual(balances.body.balances.map((b: { asset: string }) => b.asset).sort(), [
      'BTC',
      'ETH',
      'USDC',
    ]);
    const book = await call('GET', '/v1/address-book', { token });
    assert.equal(book.status, 200, JSON.stringify(book.body));
    assert.equal(book.body.entries.length, 2, 'one cooled address and one still cooling');

    // 2. Withdraw to the cooled address, and confirm with the next code (an authenticator a step ahead).
    const made = await drawbridge.POST('/v1/withdrawals', {
      body: { asset: 'BTC', network: 'bitcoin', amount: '0.01', destination_id: cooled },
    });
    assert.ok(made.data, JSON.stringify(made.error));
    assert.deepEqual(made.data.warnings, []);
    const requested = { body: made.data };
    const confirmed = await drawbridge.POST('/v1/withdrawals/{id}/confirm', {
      params: { path: { id: made.data.id } },
      body: { proof: { method: 'totp', code: totpAt(secret, new Date(Date.now() + 30_000)) } },
    });
    assert.ok(confirmed.data, JSON.stringify(confirmed.error));
    assert.equal(confirmed.data.state, 'queued', 'the price is fresh and nothing holds it');

    // 3. Watch it: released, broadcast, completed.
    const done = await until('the withdrawal to complete', async () => {
      const seen = await call('GET', `/v1/withdrawals/${requested.body.id}`, { token });
      return seen.body.state === 'completed' ? seen.body : undefined;
    });
    assert.deepEqual(
      done.history.map((h: { to_state: string }) => h.to_state),
      ['awaiting_confirmation', 'screening', 'queued', 'released', 'broadcast', 'completed'],
    );
    assert.match(done.txid, /^[0-9a-f]{64}$/);

    // The customer's emails, in the dev mailbox.
    const mails = await until('the completion email', async () => {
      const box = await call('GET', `/v1/dev/mailbox?to=${encodeURIComponent(email)}`);
      const events = (box.body.messages as { event: string }[]).map((m) => m.event);
      return events.includes('withdrawal.completed') ? events : undefined;
    });
    assert.ok(mails.includes('withdrawal.confirmed'));
    assert.ok(mails.includes('withdrawal.broadcast'));

    // The integrator's webhook events, signed, with the withdrawal's data.
    const events = await until('three webhook deliveries', async () =>
      received.length >= 3 ? received : undefined,
    );
    const verifier = new Webhook(endpoint.body.secret);
    const bodies = events.map(
      (e) =>
        verifier.verify(e.body, e.headers as Record<string, string>) as {
          type: string;
          data: Record<string, unknown>;
        },
    );
    assert.deepEqual(bodies.map((b) => b.type).sort(), [
      'withdrawal.broadcast',
      'withdrawal.completed',
      'withdrawal.confirmed',
    ]);
    for (const body of bodies) {
      assert.equal(body.data.withdrawal_id, requested.body.id);
      assert.equal(body.data.amount, '0.01');
      assert.equal(body.data.destination, 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    }
    assert.equal(bodies.find((b) => b.type === 'withdrawal.completed')?.data.txid, done.txid);
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
});
