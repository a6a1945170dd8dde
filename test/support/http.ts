import type { FastifyInstance } from 'fastify';
import { type Clock, ManualClock } from '../../src/core/clock.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Database } from '../../src/store/database.ts';

export interface RunningApp {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly clock: Clock;
  close(): Promise<void>;
}

/** The real app on a real loopback port: tests speak HTTP to it, not `inject`. */
export async function startApp(
  database: Database,
  options: { clock?: Clock; bodyLimitBytes?: number } = {},
): Promise<RunningApp> {
  const clock = options.clock ?? new ManualClock('2026-11-27T12:00:00.000Z');
  const app = await buildApp({
    database,
    clock,
    logLevel: 'silent',
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address, clock, close: () => app.close() };
}
