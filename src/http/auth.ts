import cookie from '@fastify/cookie';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { DeviceReport } from '../adapters/device-attestation.ts';
import { DomainError } from '../core/errors.ts';
import type { RequestMeta, ServiceContext } from '../services/context.ts';
import {
  type Authenticated,
  authenticate,
  csrfMatches,
  type IssuedSession,
} from '../services/identity/sessions.ts';
import { reserveIdempotency } from './idempotency.ts';

export const SESSION_COOKIE = 'drawbridge_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | undefined;
  }
}

export async function installAuth(app: FastifyInstance): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('auth', undefined);
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(header);
  if (match === null)
    throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}

/**
 * The hooks that require a session (onRequest: who is asking; preHandler: the Idempotency-Key). The console uses the HttpOnly cookie, and then every state change must
 * carry the session's CSRF token in `x-csrf-token`; API clients send `Authorization: Bearer`, which a browser
 * never attaches on its own, so they need no CSRF token.
 */
export function requireSession(context: ServiceContext, kind?: 'customer' | 'operator'): SessionGuard {
  return {
    // Who is asking is settled as soon as the headers are in, before the body is read or validated: a caller
    // without a session learns nothing about what the route expects.
    onRequest: async (request) => {
      const bearer = bearerToken(request);
      const cookieToken = request.cookies[SESSION_COOKIE];
      const token = bearer ?? cookieToken;
      if (token === undefined)
        throw new DomainError('UNAUTHENTICATED', 'sign in first (session cookie or Bearer token)');
      const auth = await authenticate(context, token, { deferTouch: true });
      if (bearer === undefined && !SAFE_METHODS.has(request.method)) {
        const presented = request.headers['x-csrf-token'];
        if (!csrfMatches(auth, typeof presented === 'string' ? presented : undefined)) {
          throw new DomainError(
            'CSRF_FAILED',
            'a cookie-authenticated change needs the x-csrf-token header',
            {
              field: 'x-csrf-token',
            },
          );
        }
      }
      if (kind !== undefined && auth.kind !== kind) {
        throw new DomainError(
          'FORBIDDEN',
          kind === 'operator' ? 'this needs an operator session' : 'this needs a customer session',
        );
      }
      request.auth = auth;
    },
    // Every mutating call may carry an Idempotency-Key; its scope is the caller, and its hash covers the body.
    preHandler: async (request, reply) => {
      const auth = authOf(request);
      if (await reserveIdempotency(context, request, reply, `${auth.kind}:${auth.principalId}`)) return reply;
    },
  };
}

/** A route's session requirement, spread into its options: `{ ...customer, schema, ... }`. */
export interface SessionGuard {
  readonly onRequest: onRequestAsyncHookHandler;
  readonly preHandler: preHandlerAsyncHookHandler;
}

export function authOf(request: FastifyRequest): Authenticated {
  if (request.auth === undefined) throw new Error('route used authOf without requireSession');
  return request.auth;
}

export function requestMeta(request: FastifyRequest, device?: DeviceReport): RequestMeta {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : 'unknown',
    device,
    sessionId: request.auth?.sessionId,
  };
}

/** Starts a session on both channels: the HttpOnly cookie for the console, the body for API clients. */
export function sessionIssued(reply: FastifyReply, session: IssuedSession, secure: boolean) {
  setSessionCookie(reply, session, secure);
  return {
    session_id: session.sessionId,
    token: session.token,
    csrf_token: session.csrfToken,
    aal: session.aal,
    expires_at: session.expiresAt,
  };
}

export function setSessionCookie(reply: FastifyReply, session: IssuedSession, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    secure,
    sameSite: 'strict',
    path: '/',
    expires: new Date(session.expiresAt),
  });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure, sameSite: 'strict', path: '/' });
}
