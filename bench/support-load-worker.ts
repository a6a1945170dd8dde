import { parentPort, Worker } from 'node:worker_threads';
import { totpAt } from '../src/core/mfa/totp.ts';
import type { BenchCustomer } from './support-customers.ts';
import { clientAddress, type LoopbackClient, loopbackClient } from './support-http-client.ts';

/*
 * The load generator of the HTTP benchmarks, on its own thread: the server under test keeps a core to itself
 * (as it would with wrk or autocannon on the other core) instead of sharing its event loop with 32 clients.
 * Each client is a keep-alive connection from its own 127.0.0.x address and keeps one request in flight.
 */

export type LoadJob =
  | {
      readonly kind: 'withdrawals';
      readonly url: string;
      /** One lane of customers per client; each customer withdraws once. */
      readonly lanes: readonly (readonly BenchCustomer[])[];
      /** The server clock's offset from Date.now(), so codes are those of the server's current TOTP step. */
      readonly clockOffsetMs: number;
    }
  | { readonly kind: 'hello'; readonly url: string; readonly clients: number; readonly perClient: number };

export interface LoadResult {
  readonly elapsedMs: number;
  readonly create: number[];
  readonly confirm: number[];
  readonly hello: number[];
}

export interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

/** Starts the load thread (this file, run as a worker through load-worker-entry.mjs). */
export function startLoadGenerator(): LoadGenerator {
  const worker = new Worker(new URL('./load-worker-entry.mjs', import.meta.url));
  let pending: { resolve: (r: LoadResult) => void; reject: (e: Error) => void } | undefined;
  worker.on('message', (message: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
    const waiting = pending;
    pending = undefined;
    if (message.ok) waiting?.resolve(message.result);
    else waiting?.reject(new Error(message.error));
  });
  worker.on('error', (error) => {
    pending?.reject(error);
    pending = undefined;
  });
  return {
    run(job) {
      if (pending !== undefined) throw new Error('one load job at a time');
      return new Promise<LoadResult>((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(job);
      });
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

const clients = new Map<string, LoopbackClient>();
function clientFor(url: string, index: number): LoopbackClient {
  const key = `${url}#${index}`;
  let client = clients.get(key);
  if (client === undefined) {
    client = loopbackClient(url, clientAddress(index));
    clients.set(key, client);
  }
  return client;
}

async function withdrawals(job: Extract<LoadJob, { kind: 'withdrawals' }>): Promise<LoadResult> {
  const create: number[] = [];
  const confirm: number[] = [];
  const started = performance.now();
  await Promise.all(
    job.lanes.map(async (lane, i) => {
      const client = clientFor(job.url, i);
      for (const customer of lane) {
        const created = await client.call('POST', '/v1/withdrawals', {
          token: customer.token,
          body: {
            asset: 'BTC',
            network: 'bitcoin',
            amount: '0.0001',
            destination_id: customer.destinationId,
          },
        });
        if (created.status !== 201)
          throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
        const code = totpAt(customer.secret, new Date(Date.now() + job.clockOffsetMs));
        const confirmed = await client.call('POST', `/v1/withdrawals/${created.body.id}/confirm`, {
          token: customer.token,
          body: { proof: { method: 'totp', code } },
        });
        if (confirmed.status !== 200 || confirmed.body.state !== 'queued')
          throw new Error(`confirm answered ${confirmed.status}: ${JSON.stringify(confirmed.body)}`);
        create.push(created.ms);
        confirm.push(confirmed.ms);
      }
    }),
  );
  return { elapsedMs: performance.now() - started, create, confirm, hello: [] };
}

async function hello(job: Extract<LoadJob, { kind: 'hello' }>): Promise<LoadResult> {
  const samples: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.clients }, async (_, i) => {
      const client = clientFor(job.url, i);
      for (let n = 0; n < job.perClient; n++) {
        const answer = await client.call('GET', '/hello');
        if (answer.status !== 200) throw new Error(`hello answered ${answer.status}`);
        samples.push(answer.ms);
      }
    }),
  );
  return { elapsedMs: performance.now() - started, create: [], confirm: [], hello: samples };
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (job: LoadJob) => {
    const work = job.kind === 'withdrawals' ? withdrawals(job) : hello(job);
    work.then(
      (result) => port.postMessage({ ok: true, result }),
      (error: unknown) =>
        port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
