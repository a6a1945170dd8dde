import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.ts';
import { enqueueWebhookEvent } from '../../src/services/webhook-events.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';
import { testContext } from '../support/http.ts';
import {
  type DispatcherProcess,
  eventually,
  killDispatcher,
  loopbackEndpoint,
  spawnDispatcher,
  startReceiver,
} from './outbox-world.ts';

const MESSAGES = 60;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`two dispatchers on one ${engine} database`, () => {
    test('never deliver the same message concurrently: each id reaches the receiver exactly once', async () => {
      const fresh = await freshDatabase(engine);
      const receiver = await startReceiver({ delayMs: 30 });
      const children: DispatcherProcess[] = [];
      try {
        const context = testContext(fresh.database, new ManualClock(new Date()));
        await loopbackEndpoint(context, receiver.url);
        const knobs = { OUTBOX_BATCH: '5', OUTBOX_CONCURRENCY: '4', OUTBOX_POLL_MS: '20' };
        const started = await Promise.allSettled([
          spawnDispatcher(context, fresh.env, knobs),
          spawnDispatcher(context, fresh.env, knobs),
        ]);
        for (const result of started) if (result.status === 'fulfilled') children.push(result.value);
        for (const result of started) if (result.status === 'rejected') throw result.reason;

        // Written while both are polling, so both compete for every batch.
        const ids = new Set<string>();
        for (let n = 0; n < MESSAGES; n += 1) {
          const queued = await inTransaction(context.database, (tx) =>
            enqueueWebhookEvent(tx, context, { event: 'device.new', accountId: `acct-${n}`, payload: { n } }),
          );
          for (const id of queued) ids.add(id);
        }
        await eventually(
          'every message received',
          () => new Set(receiver.received.map((m) => m.id)).size === MESSAGES,
          60_000,
        );
        await eventually('every delivery recorded', async () => {
          const row = await fresh.database.db
            .selectFrom('outbox')
            .select((eb) => eb.fn.countAll<string | number>().as('n'))
            .where('status', '=', 'delivered')
            .executeTakeFirstOrThrow();
          return Number(row.n) === MESSAGES;
        });

        const perId = new Map<string, number>();
        for (const message of receiver.received) perId.set(message.id, (perId.get(message.id) ?? 0) + 1);
        assert.deepEqual(new Set(perId.keys()), ids);
        assert.deepEqual(
          [...perId.values()].filter((n) => n !== 1),
          [],
          'no id was delivered twice',
        );
        assert.deepEqual(
          [...receiver.peakInFlight.values()].filter((n) => n > 1),
          [],
          'no id was in flight twice at once',
        );
        const logs = await fresh.database.db.selectFrom('delivery_log').select('outbox_id').execute();
        assert.equal(logs.length, MESSAGES, 'one attempt per message');
      } finally {
        for (const child of children) await killDispatcher(child, 'SIGTERM');
        await receiver.close();
        await fresh.drop();
      }
    });
  });
}
