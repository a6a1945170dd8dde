import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { type Database, ping } from '../../store/database.ts';

export function registerSystemRoutes(
  app: FastifyInstance,
  deps: { database: Database; metrics: Registry },
): void {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness and database reachability',
        description:
          'For load balancers and orchestrators; no session needed. 200 `{"status": "ok"}` when the ' +
          'database answers a ping, 503 `{"status": "unavailable"}` when it does not; `engine` names the ' +
          'database in use (`sqlite` or `postgres`).',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), engine: Type.String() }),
          503: Type.Object({ status: Type.Literal('unavailable'), engine: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        await ping(deps.database);
        return { status: 'ok' as const, engine: deps.database.engine };
      } catch {
        return reply.status(503).send({ status: 'unavailable' as const, engine: deps.database.engine });
      }
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format)',
        description:
          "The server's metrics in the Prometheus text exposition format, for a scraper; no session needed. " +
          'Keep it on a network only your monitoring reaches if its figures are not for everyone.',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      reply.type(deps.metrics.contentType);
      return deps.metrics.metrics();
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        tags: ['system'],
        summary: 'This API, described as OpenAPI 3.1',
        description:
          'The document /docs renders, generated from the route schemas; no session needed. Every 4xx is ' +
          'declared as `application/problem+json` with the shared `Problem` schema, and every authenticated ' +
          'change documents the optional `Idempotency-Key` header.',
      },
    },
    async () => app.swagger(),
  );
}
