import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { smtpSender } from '../src/adapters/email/smtp-sender.ts';
import { destinationPolicy } from '../src/adapters/webhooks/destination-policy.ts';
import { httpWebhookSender } from '../src/adapters/webhooks/sender.ts';
import { newWebhookSecret } from '../src/adapters/webhooks/signing.ts';
import { ManualClock, systemClock } from '../src/core/clock.ts';
import { assert } from '../src/core/errors.ts';
import { newId } from '../src/core/ids.ts';
import { renderSecurityEmail } from '../src/core/notifications/security-email.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { enqueueWebhookEvent } from '../src/services/webhook-events.ts';
import { createWebhookEndpoint } from '../src/services/webhooks.ts';
import type { Engine } from '../src/store/database.ts';
import { enqueueEmail } from '../src/store/outbox.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { createOutboxDispatcher, type OutboxDispatcher } from '../src/workers/outbox-dispatcher.ts';
import { actingAs } from '../test/support/actors.ts';
import { freshDatabase, testEngines } from '../test/support/engines.ts';
import { testContext } from '../test/support/http.ts';
import type { Benchmark, BenchmarkResult, Figure, MeasureOptions } from './measure.ts';

/*
 * Outbox dispatch throughput (messages/s): messages already in the outbox, drained by one dispatcher
 * (claim, send, record) to a local SMTP sink and a local webhook sink. The floor is the same sender
 * sending the same number of messages with the same concurrency and no database: the gap is what the
 * claim and the per-message bookkeeping (outbox update and delivery log, one transaction each) cost.
 */

const ROUND = 200;
const CONCURRENCY = 8;
const MAX_ROUNDS = 1000;
const LOOPBACK = destinationPolicy({ allowedHosts: [], allowLoopback: true });

type Channel = 'webhook' | 'smtp';

export const outboxBenchmark: Benchmark = {
  name: 'outbox',
  async run(options: MeasureOptions): Promise<BenchmarkResult> {
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const { engine, skip } of await testEngines()) {
      if (skip !== undefined) {
        notes.push(`${engine} skipped: ${skip}`);
        continue;
      }
      for (const channel of ['webhook', 'smtp'] as const)
        figures.push(await throughput(engine, channel, options));
    }
    notes.push(`rounds of ${ROUND} messages, ${CONCURRENCY} in flight, sinks on 127.0.0.1`);
    return { figures, notes };
  },
};

interface Sink {
  readonly url: string;
  close(): Promise<void>;
}

async function webhookSink(): Promise<Sink> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function smtpSink(): Promise<Sink> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function throughput(engine: Engine, channel: Channel, options: MeasureOptions): Promise<Figure> {
  const fresh = await freshDatabase(engine, { poolSize: 4 });
  const sink = channel === 'webhook' ? await webhookSink() : await smtpSink();
  const email = smtpSender({ url: channel === 'smtp' ? sink.url : 'smtp://127.0.0.1:1' });
  const webhooks = httpWebhookSender();
  try {
    // Enqueued on a fixed clock in the past, dispatched on the real one: every message is due at once.
    const context = testContext(fresh.database, new ManualClock(new Date()));
    if (channel === 'webhook') {
      await createWebhookEndpoint(context, actingAs('admin', 'bench'), LOOPBACK, {
        url: sink.url,
        events: '*',
      });
    }
    const dispatcher = createOutboxDispatcher({
      database: fresh.database,
      clock: systemClock,
      secretKey: context.totpKey,
      email,
      webhooks,
      destinations: LOOPBACK,
      batchSize: 50,
      concurrency: CONCURRENCY,
    });
    const floorSecret = newWebhookSecret();
    const floorSend = (n: number) =>
      channel === 'webhook'
        ? webhooks.send({
            id: newId(),
            url: sink.url,
            body: `{"type":"bench.floor","n":${n}}`,
            secrets: [floorSecret],
            at: new Date(),
          })
        : email.send({
            id: newId(),
            to: `floor${n}@example.com`,
            subject: 'bench',
            text: 'bench',
            html: '<p>bench</p>',
          });

    const ours = { messages: 0, ms: 0 };
    const floor = { messages: 0, ms: 0 };
    await oursRound(context, dispatcher, channel);
    await floorRound(floorSend);
    for (
      let round = 0;
      round < MAX_ROUNDS && (ours.ms < options.durationMs || floor.ms < options.durationMs);
      round += 1
    ) {
      ours.ms += await oursRound(context, dispatcher, channel);
      ours.messages += ROUND;
      floor.ms += await floorRound(floorSend);
      floor.messages += ROUND;
    }
    const oursPerSecond = (ours.messages * 1000) / ours.ms;
    const floorPerSecond = (floor.messages * 1000) / floor.ms;
    return {
      engine,
      case: `dispatch to ${channel === 'webhook' ? 'a webhook' : 'an SMTP'} sink (messages/s)`,
      opsPerSecond: oursPerSecond,
      floorOpsPerSecond: floorPerSecond,
      ratio: oursPerSecond / floorPerSecond,
      target: undefined,
      iterations: ours.messages,
      floorIterations: floor.messages,
    };
  } finally {
    await email.close();
    await sink.close();
    await fresh.drop();
  }
}

/** Queues ROUND messages (not timed), then times one dispatcher draining them. */
async function oursRound(
  context: ServiceContext,
  dispatcher: OutboxDispatcher,
  channel: Channel,
): Promise<number> {
  await inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    for (let n = 0; n < ROUND; n += 1) {
      if (channel === 'webhook') {
        await enqueueWebhookEvent(tx, context, {
          event: 'account.locked',
          accountId: `acct-${n}`,
          payload: { n },
        });
      } else {
        await enqueueEmail(tx, {
          recipient: `customer${n}@example.com`,
          accountId: null,
          event: 'account.locked',
          security: true,
          email: renderSecurityEmail({
            event: 'account.locked',
            headline: 'Your account was locked',
            lines: [],
            at: now,
            antiPhishingCode: 'Blue Heron 42',
            device: 'bench',
            ip: '127.0.0.1',
            lockUrl: 'http://127.0.0.1:8080/v1/account/lock-link?token=bench',
          }),
          payload: {},
          now: now.toISOString(),
        });
      }
    }
  });
  const started = performance.now();
  let delivered = 0;
  for (let pass = 0; pass < ROUND; pass += 1) {
    const report = await dispatcher.runOnce();
    assert(report.retried === 0 && report.failed === 0, `a bench delivery failed on ${channel}`);
    delivered += report.delivered;
    if (report.claimed === 0) break;
  }
  assert(delivered === ROUND, `the dispatcher delivered ${delivered} of ${ROUND}`);
  return performance.now() - started;
}

/** The same number of sends with the same concurrency, straight through the sender. */
async function floorRound(send: (n: number) => Promise<{ delivered: boolean }>): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < ROUND) {
      const outcome = await send(next++);
      assert(outcome.delivered, 'a floor send failed');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - started;
}
