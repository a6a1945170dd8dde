import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../../src/core/ids.ts';
import { eventCatalogue } from '../../../src/core/notifications/event-types.ts';
import { RELAY_BATCH, relayWithdrawalEvents } from '../../../src/services/withdrawals/event-relay.ts';
import { settleBroadcast } from '../../../src/services/withdrawals/settlement.ts';
import { api, mailbox, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';
import {
  confirmTotp,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
} from '../../support/withdrawals.ts';
import { loopbackEndpoint } from '../../workers/outbox-world.ts';

interface EventBody {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

/** The webhook bodies queued for `endpoint`, oldest first. */
async function webhookBodies(running: RunningApp, endpoint: string): Promise<EventBody[]> {
  const rows = await running.context.database.db
    .selectFrom('outbox')
    .select(['payload'])
    .where('channel', '=', 'webhook')
    .where('recipient', '=', endpoint)
    .orderBy('id')
    .execute();
  return rows.map((row) => JSON.parse(row.payload) as EventBody);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`withdrawal events for integrators and customers on ${engine}`, (on) => {
    const running = on.app();

    test('every hop of a withdrawal becomes a webhook event with its data, and the customer is emailed the ones that matter', async () => {
      const all = await loopbackEndpoint(running.context, 'http://127.0.0.1:9/all');
      const some = await loopbackEndpoint(running.context, 'http://127.0.0.1:9/some', [
        'withdrawal.completed',
        'withdrawal.screened',
      ]);
      const customer = await readyCustomer(running, 'relay@example.com');
      const requested = await requestBtc(running, customer, '0.25');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      const chain = simulatedChain(running);
      running.clock.advance(10 * 60_000);
      assert.equal((await releaseDue(running.context, chain)).released, 1);
      running.clock.advance(3_000);
      assert.equal(await settleBroadcast(running.context, chain), 1);

      assert.equal(await relayWithdrawalEvents(running.context), 6);
      assert.equal(await relayWithdrawalEvents(running.context), 0, 'an event is told once');

      const told = (await webhookBodies(running, all.id)).filter((b) => b.type.startsWith('withdrawal.'));
      assert.deepEqual(
        told.map((b) => b.type),
        [
          'withdrawal.requested',
          'withdrawal.confirmed',
          'withdrawal.screened',
          'withdrawal.queued',
          'withdrawal.released',
          'withdrawal.broadcast',
          'withdrawal.completed',
        ],
      );
      for (const body of told) {
        assert.equal(body.data.withdrawal_id, requested.body.id);
        assert.equal(body.data.asset, 'BTC');
        assert.equal(body.data.network, 'bitcoin');
        assert.equal(body.data.amount, '0.25');
        assert.equal(body.data.fee, '0.0001');
        assert.equal(body.data.destination, 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
        assert.equal(typeof body.data.account_id, 'string');
        assert.match(body.created_at, /^\d{4}-\d\d-\d\dT/);
      }
      const byType = new Map(told.map((b) => [b.type, b]));
      assert.equal(byType.get('withdrawal.screened')?.data.outcome, 'approve');
      assert.ok(Array.isArray(byType.get('withdrawal.screened')?.data.rules));
      assert.equal(byType.get('withdrawal.queued')?.data.state, 'queued');
      assert.equal(typeof byType.get('withdrawal.queued')?.data.release_after, 'string');
      const txid = byType.get('withdrawal.broadcast')?.data.txid;
      assert.match(String(txid), /^[0-9a-f]{64}$/);
      assert.equal(byType.get('withdrawal.completed')?.data.txid, txid);
      assert.equal(new Set(told.map((b) => b.id)).size, told.length, 'each event has its own id');

      const subscribed = await webhookBodies(running, some.id);
      assert.deepEqual(
        subscribed.map((b) => b.type),
        ['withdrawal.screened', 'withdrawal.completed'],
      );
      assert.equal(
        subscribed[1]?.id,
        byType.get('withdrawal.completed')?.id,
        'one event id at every endpoint',
      );

      const emails = (await mailbox(running, 'relay@example.com')).map((m) => m.event);
      assert.ok(emails.includes('withdrawal.broadcast'));
      assert.ok(emails.includes('withdrawal.completed'));
      const sent = (await mailbox(running, 'relay@example.com')).find(
        (m) => m.event === 'withdrawal.broadcast',
      );
      assert.ok(sent?.text.includes(String(txid)), 'the sent email names the txid');
    });

    test('a cancelled withdrawal is told to the integrator and emailed to the customer', async () => {
      const all = await loopbackEndpoint(running.context, 'http://127.0.0.1:9/cancel', [
        'withdrawal.cancelled',
      ]);
      const customer = await readyCustomer(running, 'relay-cancel@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      const cancelled = await api(running, 'POST', `/v1/withdrawals/${requested.body.id}/cancel`, {
        token: customer.token,
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      await relayWithdrawalEvents(running.context);
      const bodies = await webhookBodies(running, all.id);
      assert.deepEqual(
        bodies.map((b) => [b.type, b.data.state, b.data.previous_state]),
        [['withdrawal.cancelled', 'cancelled', 'queued']],
      );
      const emails = (await mailbox(running, 'relay-cancel@example.com')).map((m) => m.event);
      assert.ok(emails.includes('withdrawal.cancelled'));
    });

    test('two relays running at once tell each event exactly once', async () => {
      const all = await loopbackEndpoint(running.context, 'http://127.0.0.1:9/race');
      const customer = await readyCustomer(running, 'relay-race@example.com', '2');
      for (const amount of ['0.1', '0.2', '0.3']) {
        const requested = await requestBtc(running, customer, amount);
        assert.equal(requested.status, 201, JSON.stringify(requested.body));
        assert.equal((await confirmTotp(running, customer, requested.body.id)).status, 200);
      }
      const [a, b] = await Promise.all([
        relayWithdrawalEvents(running.context),
        relayWithdrawalEvents(running.context),
      ]);
      // Each withdrawal: requested, then confirmed with its screening in one move (3 events, 4 webhooks).
      assert.equal(a + b, 9);
      const bodies = (await webhookBodies(running, all.id)).filter((body) =>
        body.type.startsWith('withdrawal.'),
      );
      assert.equal(bodies.length, 12);
      assert.equal(new Set(bodies.map((body) => body.id)).size, 12);
    });

    test('more events than one batch are all relayed in one call: a full batch means go on, not stop', async () => {
      const customer = await readyCustomer(running, 'relay-bound@example.com');
      const requested = await requestBtc(running, customer, '0.1');
      await relayWithdrawalEvents(running.context);
      const extra = RELAY_BATCH * 2 + 7;
      const at = running.clock.now().toISOString();
      await running.context.database.db
        .insertInto('withdrawal_events')
        .values(
          Array.from({ length: extra }, () => ({
            id: newId(),
            withdrawal_id: requested.body.id as string,
            at,
            from_state: 'awaiting_confirmation',
            to_state: 'cancelled',
            actor: 'test',
            reason: null,
            relayed_at: null,
          })),
        )
        .execute();
      assert.equal(await relayWithdrawalEvents(running.context), extra);
      assert.equal(await relayWithdrawalEvents(running.context), 0);
    });

    test('the catalogue is published, an unknown type is refused by name, and a test event can be sent and followed', async () => {
      const catalogue = await api(running, 'GET', '/v1/webhook-event-types');
      assert.equal(catalogue.status, 200);
      assert.deepEqual(
        catalogue.body.event_types.map((e: { type: string }) => e.type),
        eventCatalogue().map((e) => e.type),
      );
      const admin = await operatorWithSession(running, 'relay-admin@example.com', 'admin');
      const unknown = await api(running, 'POST', '/v1/operator/webhooks', {
        token: admin.token,
        body: { url: 'https://hooks.example.com/x', events: ['withdrawal.completed', 'withdrawal.finished'] },
      });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.equal(unknown.body.field, '/body/events/1');
      assert.match(unknown.body.detail, /withdrawal\.finished.*not an event type/);

      const endpoint = await loopbackEndpoint(running.context, 'http://127.0.0.1:9/test', ['account.locked']);
      const sent = await api(running, 'POST', `/v1/operator/webhooks/${endpoint.id}/test`, {
        token: admin.token,
      });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const deliveries = await api(
        running,
        'GET',
        `/v1/operator/webhooks/${endpoint.id}/deliveries?limit=1`,
        {
          token: admin.token,
        },
      );
      assert.equal(deliveries.status, 200, JSON.stringify(deliveries.body));
      assert.equal(deliveries.body.deliveries.length, 1);
      assert.equal(deliveries.body.deliveries[0].id, sent.body.delivery_id);
      assert.equal(deliveries.body.deliveries[0].type, 'webhook.test');
      assert.equal(deliveries.body.deliveries[0].status, 'pending');
      assert.equal(deliveries.body.has_more, false);

      const badCursor = await api(
        running,
        'GET',
        `/v1/operator/webhooks/${endpoint.id}/deliveries?starting_after=nope`,
        { token: admin.token },
      );
      assert.equal(badCursor.status, 400);
      const badLimit = await api(running, 'GET', `/v1/operator/webhooks/${endpoint.id}/deliveries?limit=0`, {
        token: admin.token,
      });
      assert.equal(badLimit.status, 400);
      assert.equal(badLimit.body.field, '/query/limit');
    });
  });
}
