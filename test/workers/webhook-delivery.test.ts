import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { httpWebhookSender } from '../../src/adapters/webhooks/sender.ts';
import { webhookSignature } from '../../src/adapters/webhooks/signing.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { EventType } from '../../src/core/notifications/event-types.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { enqueueWebhookEvent } from '../../src/services/webhook-events.ts';
import {
  disableWebhookEndpoint,
  ROTATION_OVERLAP_MS,
  rotateWebhookSecret,
} from '../../src/services/webhooks.ts';
import { deliveryLogOf } from '../../src/store/outbox-delivery.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { actingAs } from '../support/actors.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import { testContext } from '../support/http.ts';
import { dispatcherFor, eventually, loopbackEndpoint, outboxRow, startReceiver } from './outbox-world.ts';

async function emit(
  context: ServiceContext,
  event: EventType,
  accountId = 'acct-1',
): Promise<readonly string[]> {
  return inTransaction(context.database, (tx) =>
    enqueueWebhookEvent(tx, context, { event, accountId, payload: { reason: 'test' } }),
  );
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`signed webhooks on ${engine}`, () => {
    // The receiver checks timestamps against the real time, so these tests start their manual clock at now.
    const contextOn = (database: Parameters<typeof testContext>[0]) =>
      testContext(database, new ManualClock(new Date()));

    test('a receiver verifies every delivery with the Standard Webhooks library, and gets only what it asked for', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver();
      try {
        const context = contextOn(fresh.database);
        const all = await loopbackEndpoint(context, receiver.url, '*');
        const locks = await loopbackEndpoint(context, `${receiver.url}?only=locks`, ['account.locked']);
        const off = await loopbackEndpoint(context, `${receiver.url}?off`, '*');
        await disableWebhookEndpoint(context, actingAs('admin'), off.id);

        const locked = await emit(context, 'account.locked');
        const device = await emit(context, 'device.new');
        assert.equal(locked.length, 2, 'both subscribed endpoints, not the disabled one');
        assert.equal(device.length, 1, 'only the * endpoint');

        const report = await dispatcherFor(context).runOnce();
        assert.equal(report.delivered, 3);
        assert.equal(receiver.received.length, 3);
        const secretOf = new Map([
          ['/hooks', all.secret],
          ['/hooks?only=locks', locks.secret],
        ]);
        for (const message of receiver.received) {
          const secret = secretOf.get(message.path);
          assert.ok(secret, `nothing was registered at ${message.path}`);
          assert.deepEqual(
            new Webhook(secret).verify(message.body, message.headers),
            JSON.parse(message.body),
          );
          const other = secret === all.secret ? locks.secret : all.secret;
          assert.throws(() => new Webhook(other).verify(message.body, message.headers), /signature/i);
          assert.ok([...locked, ...device].includes(message.id), 'webhook-id is the outbox id');
          const body = JSON.parse(message.body);
          assert.equal(body.data.account_id, 'acct-1');
          assert.ok(body.type === 'account.locked' || body.type === 'device.new');
        }
        assert.equal(new Set(receiver.received.map((m) => m.id)).size, 3);
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });

    test('during a rotation both signatures are sent and verify; after the overlap only the new one', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver();
      try {
        const context = contextOn(fresh.database);
        const endpoint = await loopbackEndpoint(context, receiver.url);
        const rotated = await rotateWebhookSecret(context, actingAs('admin'), endpoint.id);
        assert.notEqual(rotated.secret, endpoint.secret);

        await emit(context, 'mfa.totp_enrolled');
        await dispatcherFor(context).runOnce();
        const during = receiver.received[0]!;
        assert.equal(during.headers['webhook-signature']!.split(' ').length, 2);
        assert.doesNotThrow(() => new Webhook(endpoint.secret).verify(during.body, during.headers));
        assert.doesNotThrow(() => new Webhook(rotated.secret).verify(during.body, during.headers));

        (context.clock as ManualClock).advance(ROTATION_OVERLAP_MS + 1000);
        const [afterId] = await emit(context, 'mfa.totp_enrolled');
        await dispatcherFor(context).runOnce();
        const after = receiver.received[1]!;
        assert.equal(after.id, afterId);
        const at = new Date(Number(after.headers['webhook-timestamp']) * 1000);
        assert.equal(
          after.headers['webhook-signature'],
          webhookSignature([rotated.secret], after.id, at, after.body),
        );
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });

    test('a receiver answering 500 then 200 gets the same message again after a backoff, logged per attempt', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver({ answer: (n) => (n === 0 ? 500 : 200) });
      try {
        const context = contextOn(fresh.database);
        const clock = context.clock as ManualClock;
        await loopbackEndpoint(context, receiver.url);
        const [id] = await emit(context, 'account.locked');
        const dispatcher = dispatcherFor(context, { random: () => 0.5 });

        assert.equal((await dispatcher.runOnce()).retried, 1);
        const waiting = await outboxRow(context, id!);
        assert.equal(waiting.status, 'pending');
        // Full jitter over the first window (5 s) with a draw of 0.5: 2.5 s.
        assert.equal(Date.parse(waiting.next_attempt_at) - clock.now().getTime(), 2500);
        assert.equal((await dispatcher.runOnce()).claimed, 0, 'not due before its backoff ends');

        clock.advance(2500);
        assert.equal((await dispatcher.runOnce()).delivered, 1);
        assert.deepEqual(
          receiver.received.map((m) => m.id),
          [id, id],
        );
        const done = await outboxRow(context, id!);
        assert.equal(done.status, 'delivered');
        assert.equal(done.attempts, 2);
        const log = await deliveryLogOf(fresh.database, id!);
        assert.deepEqual(
          log.map((l) => [l.attempt, l.status, l.response_code]),
          [
            [1, 'failed', 500],
            [2, 'delivered', 200],
          ],
        );
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });

    test('a message that keeps failing stops after the last attempt, and redirects are not followed', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver({ answer: () => 307 });
      try {
        const context = contextOn(fresh.database);
        const clock = context.clock as ManualClock;
        await loopbackEndpoint(context, receiver.url);
        const [id] = await emit(context, 'account.locked');
        const dispatcher = dispatcherFor(context, { retry: { baseMs: 1000, capMs: 4000, maxAttempts: 3 } });
        for (let round = 0; round < 3; round += 1) {
          assert.equal((await dispatcher.runOnce()).claimed, 1);
          clock.advance(4000);
        }
        assert.equal((await dispatcher.runOnce()).claimed, 0);
        const row = await outboxRow(context, id!);
        assert.equal(row.status, 'failed');
        assert.match(row.last_error ?? '', /redirect/);
        assert.equal(receiver.received.length, 3, 'one request per attempt, none to a redirect target');
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });

    test('a receiver slower than the timeout is a failed attempt, retried later', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver({ delayMs: 1500 });
      try {
        const context = contextOn(fresh.database);
        await loopbackEndpoint(context, receiver.url);
        const [id] = await emit(context, 'account.locked');
        const report = await dispatcherFor(context, {
          webhooks: httpWebhookSender({ timeoutMs: 300 }),
        }).runOnce();
        assert.equal(report.retried, 1);
        assert.equal((await outboxRow(context, id!)).last_error, 'timed out');
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });

    test('the server loop delivers what is queued while it runs, and stops when told', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver();
      const context = contextOn(fresh.database);
      const dispatcher = dispatcherFor(context, { pollIntervalMs: 20 });
      try {
        await loopbackEndpoint(context, receiver.url);
        dispatcher.start();
        const [id] = await emit(context, 'account.unlocked');
        await eventually(
          'the loop delivered it',
          async () => (await outboxRow(context, id!)).status === 'delivered',
        );
        await dispatcher.stop();
        const [later] = await emit(context, 'account.unlocked');
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal((await outboxRow(context, later!)).status, 'pending', 'a stopped loop sends nothing');
      } finally {
        await dispatcher.stop();
        await receiver.close();
        await fresh.drop();
      }
    });

    test('messages queued for an endpoint that is then disabled fail without a request', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver();
      try {
        const context = contextOn(fresh.database);
        const endpoint = await loopbackEndpoint(context, receiver.url);
        const [id] = await emit(context, 'account.locked');
        await disableWebhookEndpoint(context, actingAs('admin'), endpoint.id);
        assert.equal((await dispatcherFor(context).runOnce()).failed, 1);
        assert.equal((await outboxRow(context, id!)).status, 'failed');
        assert.equal(receiver.received.length, 0);
      } finally {
        await receiver.close();
        await fresh.drop();
      }
    });
  });
}
