import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import { newId } from '../core/ids.ts';
import type { ServiceContext } from '../services/context.ts';
import { installAuth } from './auth.ts';
import { installIdempotency } from './idempotency.ts';
import { installMetrics } from './metrics.ts';
import { PROBLEM_CONTENT_TYPE, sendProblem, toProblem } from './problem.ts';
import { registerAccountRoutes } from './routes/account.ts';
import { registerAddressBookRoutes } from './routes/address-book.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerCredentialChangeRoutes } from './routes/credential-changes.ts';
import { registerCustodyRoutes } from './routes/custody.ts';
import { registerDevMailboxRoutes } from './routes/dev-mailbox.ts';
import { registerMfaRoutes } from './routes/mfa.ts';
import { registerOperatorRoutes } from './routes/operator.ts';
import { registerOperatorDecisionRoutes } from './routes/operator-decisions.ts';
import { registerHaltAndDepositRoutes } from './routes/operator-withdrawals.ts';
import { registerPasskeyLoginRoutes } from './routes/passkey-login.ts';
import { registerSystemRoutes } from './routes/system.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerWithdrawalRoutes } from './routes/withdrawals.ts';

export interface AppDeps {
  readonly context: ServiceContext;
  readonly logLevel?: string;
  readonly bodyLimitBytes?: number;
  /** Secure cookies (default true; browsers treat http://localhost as secure too). */
  readonly cookieSecure?: boolean;
  readonly devMailbox?: boolean;
  readonly webhookDestinations?: WebhookDestinationPolicy;
  /** With the webhook custody signer: the whsec_ secret its status callbacks are signed with (else no route). */
  readonly custodyCallbackSecret?: string | undefined;
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
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'session token from a login' },
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'drawbridge_session',
            description: 'console session; changes need x-csrf-token',
          },
        },
      },
    },
  });

  await app.register(helmet, {
    // The API serves JSON; the console (served elsewhere) sets its own policy.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  await installAuth(app);
  installIdempotency(app, deps.context);
  const metrics = installMetrics(app);

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, 'unhandled error');
    const retryAfter = problem.retry_after_s;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
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

  const { context } = deps;
  const cookies = { cookieSecure: deps.cookieSecure ?? true };
  registerSystemRoutes(app, { database: context.database, metrics });
  registerAuthRoutes(app, context, cookies);
  registerPasskeyLoginRoutes(app, context);
  registerAccountRoutes(app, context, cookies);
  registerMfaRoutes(app, context);
  registerOperatorRoutes(app, context, cookies);
  registerAddressBookRoutes(app, context);
  registerCredentialChangeRoutes(app, context);
  registerWithdrawalRoutes(app, context);
  registerHaltAndDepositRoutes(app, context);
  registerOperatorDecisionRoutes(app, context);
  registerWebhookRoutes(app, context, { destinations: deps.webhookDestinations });
  if (deps.devMailbox ?? false) registerDevMailboxRoutes(app, context);
  if (deps.custodyCallbackSecret !== undefined)
    registerCustodyRoutes(app, context, { callbackSecret: deps.custodyCallbackSecret });

  app.addContentTypeParser(
    PROBLEM_CONTENT_TYPE,
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  return app;
}
