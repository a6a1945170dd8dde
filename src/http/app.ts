import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { installMetrics } from './metrics.ts';
import { PROBLEM_CONTENT_TYPE, sendProblem, toProblem } from './problem.ts';
import { registerSystemRoutes } from './routes/system.ts';

export interface AppDeps {
  readonly database: Database;
  readonly clock: Clock;
  readonly logLevel?: string;
  readonly bodyLimitBytes?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] },
    bodyLimit: deps.bodyLimitBytes ?? 65536,
    // A caller's request id is kept when it is sane, so logs join up across systems; otherwise we mint one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
    },
    ajv: {
      customOptions: {
        // Unknown fields are refused, not silently dropped; a JSON number is never coerced into an amount string.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
      },
    },
    return503OnClosing: true,
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Drawbridge',
        version: '0.1.0',
        description:
          'Withdrawal security for a custodial crypto platform. Every error is an RFC 9457 problem.',
      },
      components: {
        schemas: {},
      },
    },
  });

  const metrics = installMetrics(app);

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'https://drawbridge.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: `no route ${request.method} ${request.url.split('?')[0]}`,
      instance: request.url,
      code: 'NOT_FOUND',
      request_id: request.id,
    }),
  );

  registerSystemRoutes(app, { database: deps.database, metrics });

  app.addContentTypeParser(
    PROBLEM_CONTENT_TYPE,
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  return app;
}
