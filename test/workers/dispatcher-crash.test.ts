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

const MESSAGES = 20;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the dispatcher killed with SIGKILL in the middle of a batch, on ${engine}`, () => {
    test('after a restart every notification arrives, and any duplicate carries the same id', async () => {
      const fresh = await freshDatabase(engine);
      // Slow answers keep deliveries in flight, so the kill lands between sending and recording.
      const receiver = await startReceiver({ delayMs: 250 });
      const children: DispatcherProcess[] = [];
      try {
        const context = testContext(fresh.database, new ManualClock(new Date()));
        await loopbackEndpoint(context, receiver.url);
        const ids = new Set<string>();
        for (let n = 0; n < MESSAGES; n += 1) {
          const queued = await inTransaction(context.database, (tx) =>
            enqueueWebhookEvent(tx, context, {
              event: 'account.locked',
              accountId: `acct-${n}`,
              payload: { n },
            }),
          );
          for (const id of queued) ids.add(id);
        }
        assert.equal(ids.size, MESSAGES);
        const knobs = { OUTBOX_LEASE_MS: '2000', OUTBOX_BATCH: '10', OUTBOX_CONCURRENCY: '2' };

        const first = await spawnDispatcher(context, fresh.env, knobs);
        children.push(first);
        await eventually(
          'deliveries in flight',
          () => receiver.received.length >= 3 && receiver.inFlight() > 0,
        );
        await killDispatcher(first, 'SIGKILL');
        const caughtInFlight = receiver.received.length;
        assert.ok(caughtInFlight < MESSAGES, 'the first dispatcher was stopped mid-way');

        const second = await spawnDispatcher(context, fresh.env, knobs);
        children.push(second);
        await eventually(
          'every message delivered',
          async () => {
            const row = await fresh.database.db
              .selectFrom('outbox')
              .select((eb) => eb.fn.countAll<string | number>().as('n'))
              .where('status', '=', 'delivered')
              .executeTakeFirstOrThrow();
            return Number(row.n) === MESSAGES;
          },
          60_000,
        );

        const receivedIds = receiver.received.map((m) => m.id);
        assert.deepEqual(new Set(receivedIds), ids, 'every notification arrived, and nothing else');
        const duplicates = receivedIds.length - new Set(receivedIds).size;
        assert.ok(duplicates >= 1, 'the message in flight at the kill was sent again (at least once)');
        const rows = await fresh.database.db.selectFrom('outbox').select(['id', 'attempts']).execute();
        for (const row of rows) {
          const times = receivedIds.filter((id) => id === row.id).length;
          assert.ok(times <= row.attempts, `${row.id} was sent ${times} times in ${row.attempts} attempts`);
        }
      } finally {
        for (const child of children) await killDispatcher(child);
        await receiver.close();
        await fresh.drop();
      }
    });
  });
}
