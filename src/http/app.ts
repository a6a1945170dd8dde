import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from 'helmet';
import type { WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import { invalidInput } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { ServiceContext } from '../services/context.ts';
import { flushTouch } from '../services/identity/sessions.ts';
import { installAuth } from './auth.ts';
import { isConsoleNavigation, registerConsole, registerLinkLandingFallbacks } from './console.ts';
import { sendPage } from './email-links.ts';
import { installIdempotency } from './idempotency.ts';
import { installMetrics } from './metrics.ts';
import { finishDocument } from './openapi.ts';
import {
  clientErrorResponse,
  PROBLEM_CONTENT_TYPE,
  routeNotFound,
  sendProblem,
  toProblem,
} from './problem.ts';
import { registerAccountRoutes } from './routes/account.ts';
import { registerAccountMeRoutes } from './routes/account-me.ts';
import { registerAddressBookRoutes } from './routes/address-book.ts';
import { registerAlertAndCaseRoutes } from './routes/alerts-cases.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerCredentialChangeRoutes } from './routes/credential-changes.ts';
import { registerCustodyRoutes } from './routes/custody.ts';
import { registerDevMailboxRoutes } from './routes/dev-mailbox.ts';
import { registerIncidentMoneyRoutes } from './routes/incident-money.ts';
import { registerIncidentRoutes } from './routes/incidents.ts';
import { registerMfaRoutes } from './routes/mfa.ts';
import { registerOperatorRoutes } from './routes/operator.ts';
import { registerOperatorDecisionRoutes } from './routes/operator-decisions.ts';
import { registerRuleSetRoutes } from './routes/operator-rule-sets.ts';
import { registerOperatorSearchRoutes } from './routes/operator-search.ts';
import { registerHaltAndDepositRoutes } from './routes/operator-withdrawals.ts';
import { registerPasskeyLoginRoutes } from './routes/passkey-login.ts';
import { registerReviewQueueRoutes } from './routes/review-queue.ts';
import { registerSystemRoutes } from './routes/system.ts';
import { type MovableClock, registerTestClockRoutes } from './routes/test-clock.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerWithdrawalRoutes } from './routes/withdrawals.ts';

export interface AppDeps {
  readonly context: ServiceContext;
  readonly logLevel?: string;
  readonly logFormat?: 'json' | 'pretty';
  readonly bodyLimitBytes?: number;
  /** Secure cookies (default true; browsers treat http://localhost as secure too). */
  readonly cookieSecure?: boolean;
  readonly devMailbox?: boolean;
  readonly webhookDestinations?: WebhookDestinationPolicy;
  /** With the webhook custody signer: the whsec_ secret its status callbacks are signed with (else no route). */
  readonly custodyCallbackSecret?: string | undefined;
  /** DRAWBRIDGE_TEST_CLOCK (tests only): the clock `/__test__/clock` moves; absent, the route does not exist. */
  readonly testClock?: MovableClock | undefined;
  /** The console's built bundle (web/dist), served at `/`; absent, only the API is served. */
  readonly consoleDir?: string | undefined;
  /** How long a connection may take to send a request or sit idle; see httpTimeouts. */
  readonly timeouts?: Partial<HttpTimeouts> | undefined;
}

/** Deadlines on the connection, so a client that sends slowly or not at all cannot hold a socket for ever. */
export interface HttpTimeouts {
  /** The whole request, headers and body, must have arrived this long after it began (408 otherwise). */
  readonly requestMs: number;
  /** The headers must have arrived within this (at most requestMs). */
  readonly headersMs: number;
  /** A keep-alive connection with no request in progress is closed after this. */
  readonly keepAliveMs: number;
  /** A socket on which nothing moves either way for this long is closed (a backstop behind the others). */
  readonly socketIdleMs: number;
  /** How often Node looks for requests past requestMs or headersMs (its default, 30 s, would add up to that). */
  readonly checkIntervalMs: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Fastify's default: longer than the 60 s idle timeout of the usual load balancers, which close first. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** The given timeouts, the others derived from the request timeout. */
export function httpTimeouts(given: Partial<HttpTimeouts> = {}): HttpTimeouts {
  const requestMs = given.requestMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersMs = Math.min(given.headersMs ?? 10_000, requestMs);
  return {
    requestMs,
    headersMs,
    keepAliveMs: given.keepAliveMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    socketIdleMs: given.socketIdleMs ?? Math.max(120_000, 2 * requestMs),
    checkIntervalMs: given.checkIntervalMs ?? Math.max(10, Math.min(1_000, Math.floor(headersMs / 4))),
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const timeouts = httpTimeouts(deps.timeouts);
  const app = Fastify({
    // A slow body (one byte every few seconds) is cut off at requestMs, slow headers at headersMs: each gets a
    // 408 problem and the socket is closed. Node only checks every checkIntervalMs.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.socketIdleMs,
    http: {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    // What Node's HTTP parser refuses (a malformed request line or header, headers too large, a request past its
    // deadline) gets a problem body like every other 4xx, not Fastify's own JSON.
    clientErrorHandler(error, socket) {
      if ((error as { code?: string }).code === 'ECONNRESET' || socket.destroyed) return;
      const requestId = newId();
      app.log.debug({ err: error, request_id: requestId }, 'client error');
      // A response already under way on this socket cannot be followed by another one.
      const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && inFlight?.headersSent !== true) {
        socket.end(clientErrorResponse(error, requestId));
        socket.destroySoon();
      } else {
        socket.destroy();
      }
    },
    // Fastify's answers to a badly encoded path or an over-long path parameter, as problems; a browser that
    // followed a damaged link to a console page gets a page that says so (and where to go), not raw JSON.
    frameworkErrors: (error, request, reply) => {
      const problem = toProblem(error, request);
      if (deps.consoleDir === undefined || problem.status >= 500 || !isConsoleNavigation(request))
        return sendProblem(reply, problem);
      const answer = (reply as FastifyReply)
        .status(problem.status)
        .header('x-request-id', problem.request_id);
      return sendPage(answer, {
        title: 'This address is not valid',
        paragraphs: [
          'The link you followed is damaged: part of it is not a valid web address. Nothing was changed.',
        ],
        link: { href: '/', text: 'Go to the Drawbridge console' },
      });
    },
    logger: {
      level: deps.logLevel ?? 'info',
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      ...(deps.logFormat === 'pretty'
        ? {
            transport: {
              target: 'pino-pretty',
              options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', destination: 1 },
            },
          }
        : {}),
    },
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
    // A session's due touch that no transaction of the request carried is written before the answer leaves; a
    // failure to write it only makes the session look idle sooner (logged, never the request's error).
    if (request.auth !== undefined)
      await flushTouch(deps.context, request.auth).catch((error: unknown) =>
        request.log.warn({ err: error }, 'session touch failed'),
      );
    return payload;
  });

  await app.register(swagger, {
    transformObject: (made) =>
      'openapiObject' in made
        ? finishDocument(made.openapiObject as Parameters<typeof finishDocument>[0])
        : made.swaggerObject,
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

  // The reference at /docs: Swagger UI from its package (nothing fetched at run time), with a CSP of its own that
  // allows exactly its own script and style files.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true, defaultModelsExpandDepth: 0 },
  });

  // Security headers on every answer: helmet's middleware built once (@fastify/helmet rebuilt it, parsing the policy
  // again, on every request). The API serves JSON; the console and /docs set their own policy on their answers.
  const securityHeaders = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error?: unknown) =>
      done(error instanceof Error ? error : undefined),
    );
  });
  await installAuth(app);
  installIdempotency(app, deps.context);
  const metrics = installMetrics(app, deps.context);

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, 'unhandled error');
    const retryAfter = problem.retry_after_s;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, routeNotFound(request)));
  // Ids are checked by their shape in the route schemas; this catches a NUL in any other string of the request,
  // which PostgreSQL refuses in text (a 500) and SQLite would store: both engines answer the same 400.
  app.addHook('preHandler', async (request) => refuseNul(request));

  const { context } = deps;
  const cookies = { cookieSecure: deps.cookieSecure ?? true };
  registerSystemRoutes(app, { database: context.database, metrics });
  registerAuthRoutes(app, context, cookies);
  registerPasskeyLoginRoutes(app, context);
  registerAccountRoutes(app, context, cookies);
  registerAccountMeRoutes(app, context);
  registerMfaRoutes(app, context);
  registerOperatorRoutes(app, context, cookies);
  registerAddressBookRoutes(app, context);
  registerCredentialChangeRoutes(app, context);
  registerWithdrawalRoutes(app, context);
  registerHaltAndDepositRoutes(app, context);
  registerOperatorDecisionRoutes(app, context);
  registerOperatorSearchRoutes(app, context);
  registerReviewQueueRoutes(app, context);
  registerAlertAndCaseRoutes(app, context);
  registerRuleSetRoutes(app, context);
  registerIncidentRoutes(app, context);
  registerIncidentMoneyRoutes(app, context);
  registerWebhookRoutes(app, context, { destinations: deps.webhookDestinations });
  if (deps.devMailbox ?? false) registerDevMailboxRoutes(app, context);
  if (deps.testClock !== undefined) registerTestClockRoutes(app, deps.testClock);
  if (deps.consoleDir !== undefined) await registerConsole(app, deps.consoleDir);
  else registerLinkLandingFallbacks(app);
  if (deps.custodyCallbackSecret !== undefined)
    registerCustodyRoutes(app, context, { callbackSecret: deps.custodyCallbackSecret });

  // Bodies are JSON: Fastify's built-in text/plain parser would hand a route a string to fail validation on (a 400);
  // without it a text body is a 415 that says what to send.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    PROBLEM_CONTENT_TYPE,
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  return app;
}

/**
 * The first place in params, query or body where a string or a key holds U+0000: "params.id", "querystring.token",
 * and body fields by their own names ("email", "preferences.0.event"), as the services name them.
 */
function nulField(request: FastifyRequest): string | undefined {
  const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
  // Popped from the end: params first, then query, then body. A raw string body (the custody callbacks') is JSON
  // text, where a NUL can only be escaped; its fields are checked where it is parsed.
  const stack: [unknown, string][] = [
    [typeof request.body === 'object' ? request.body : undefined, ''],
    [request.query, 'querystring'],
    [request.params, 'params'],
  ];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return path;
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        stack.push([item, join(path, index)]);
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) return path === '' ? 'body' : path;
        stack.push([item, join(path, key)]);
      }
    }
  }
  return undefined;
}

function refuseNul(request: FastifyRequest): void {
  const field = nulField(request);
  if (field !== undefined) throw invalidInput(field, 'must not contain a NUL character');
}
