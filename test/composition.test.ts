import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newWebhookSecret } from '../src/adapters/webhooks/signing.ts';
import { composeServer } from '../src/composition.ts';
import { loadConfig } from '../src/config.ts';
import { ManualClock } from '../src/core/clock.ts';
import { buildApp } from '../src/http/app.ts';
import { settleBroadcast } from '../src/services/withdrawals/settlement.ts';
import { findHandoff } from '../src/store/custody-callbacks.ts';
import { eachEngine } from './support/each-engine.ts';
import { freshDatabase } from './support/engines.ts';
import type { RunningApp } from './support/http.ts';
import {
  balanceOf,
  confirmTotp,
  readyCustomer,
  releaseDue,
  requestBtc,
  withdrawalRow,
} from './support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the composition root builds what the server runs, on ${engine}`, (on) => {
    const fresh = on.database();
    let dataDir: string;
    let running: RunningApp;
    let server: Awaited<ReturnType<typeof composeServer>>;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-compose-'));
      const config = loadConfig({
        DRAWBRIDGE_DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        WITHDRAWAL_FEES: 'BTC:bitcoin=0.0002,ETH:ethereum=0.001',
        CONFIRMATION_WINDOW_SECONDS: '120',
        SIMULATED_CONFIRMATIONS: '2',
        SIMULATED_BLOCK_MS: '500',
      });
      const clock = new ManualClock('2026-11-27T12:00:00.000Z');
      server = await composeServer(config, fresh.database, clock);
      const app = await buildApp(server.app);
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      running = { app, url, clock, context: server.context, close: () => app.close() };
    });
    after(async () => {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('the fee table and the confirmation window are the configured ones', async () => {
      const customer = await readyCustomer(running, 'composed@example.com');
      const requested = await requestBtc(running, customer, '0.25');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.match(requested.body.summary, /, fee 0\.0002 BTC$/);
      assert.equal(
        Date.parse(requested.body.expires_at) - running.clock.now().getTime(),
        120_000,
        'CONFIRMATION_WINDOW_SECONDS',
      );
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      assert.deepEqual(await balanceOf(running, customer.token), { available: '0.7498', held: '0.2502' });

      const late = await requestBtc(running, customer, '0.1');
      running.clock.advance(120_000);
      const expired = await confirmTotp(running, customer, late.body.id);
      assert.equal(expired.status, 409, JSON.stringify(expired.body));
      assert.match(String(expired.body.detail), /expired before it was confirmed/);
    });

    test('the composed custody is the simulated chain behind the hand-over service, confirming after the configured blocks', async () => {
      assert.deepEqual(server.custodyDescription, { signer: 'simulated' });
      assert.equal(
        server.app.custodyCallbackSecret,
        undefined,
        'no callback route without the webhook signer',
      );
      const customer = await readyCustomer(running, 'composed-custody@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      running.clock.advance(10 * 60_000);
      // The first test's confirmed withdrawal is released in the same pass.
      assert.ok(server.monitor !== undefined, 'the embedded default runs the monitor');
      assert.equal((await releaseDue(running.context, server.custody, server.monitor)).released, 2);
      const id = requested.body.id as string;
      assert.equal((await withdrawalRow(running, id)).state, 'broadcast');
      running.clock.advance(999);
      assert.equal(await settleBroadcast(running.context, server.custody), 0, 'two blocks of 500 ms not yet');
      running.clock.advance(1);
      assert.equal(await settleBroadcast(running.context, server.custody), 2);
      assert.equal((await withdrawalRow(running, id)).state, 'completed');
      const record = await findHandoff(running.context.database.db, id);
      assert.equal(record?.status, 'confirmed');
      assert.equal(record?.txid, (await withdrawalRow(running, id)).txid);
    });

    test('the workers start and stop', async () => {
      const errors: unknown[] = [];
      server.workers.start((error) => errors.push(error));
      assert.throws(() => server.workers.start(() => {}), /start once/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.workers.stop();
      assert.deepEqual(errors, []);
    });
  });
}

describe('the composition root with the webhook signer', () => {
  test('the callback route is on and the signer named by its origin (never a secret)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'drawbridge-compose-'));
    const fresh = await freshDatabase('sqlite');
    try {
      const callbackSecret = newWebhookSecret();
      const config = loadConfig({
        DRAWBRIDGE_DATA_DIR: dataDir,
        CUSTODY_SIGNER: 'webhook',
        CUSTODY_WEBHOOK_URL: 'http://127.0.0.1:9/custody/instructions',
        CUSTODY_WEBHOOK_SECRET: newWebhookSecret(),
        CUSTODY_CALLBACK_SECRET: callbackSecret,
      });
      const server = await composeServer(config, fresh.database, new ManualClock('2026-11-27T12:00:00.000Z'));
      assert.deepEqual(server.custodyDescription, { signer: 'webhook', origin: 'http://127.0.0.1:9' });
      assert.equal(server.app.custodyCallbackSecret, callbackSecret);
      assert.equal(server.custody.verifyCallback('{}', {}).ok, false, 'an unsigned callback is refused');
    } finally {
      await fresh.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
