import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeNotFound, sendProblem } from './problem.ts';

/**
 * The console's policy: its own scripts and styles only (no inline script or style, no eval), data: images for
 * the TOTP QR code, requests to this origin only, never framed.
 */
export const CONSOLE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Paths that belong to the API: an unknown one is a 404 problem, never the console's page. */
const API_PREFIXES = [
  '/v1/',
  '/docs',
  '/openapi.json',
  '/metrics',
  '/healthz',
  '/.well-known/',
  '/__test__/',
];

/**
 * Whether a request is a browser opening a console page (a GET outside the API that asks for HTML): the one case
 * where an error is better shown as a page than as a problem body a person would read as raw JSON.
 */
export function isConsoleNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '/';
  if (API_PREFIXES.some((prefix) => path.startsWith(prefix))) return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Whether the console's web/dist holds a built bundle. */
export function consoleBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

/**
 * Serves the built console (web/dist): its hashed assets from /assets/, and its one page for every other GET
 * outside the API (the console routes in the browser), with the console's CSP. Nothing is fetched from elsewhere.
 */
export async function registerConsole(app: FastifyInstance, dir: string): Promise<void> {
  const page = readFileSync(join(dir, 'index.html'), 'utf8');
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: false,
    serve: true,
    cacheControl: false,
    // Hashed file names: a new build is a new name, so they may be cached for good.
    setHeaders: (response, path) => {
      response.setHeader('content-security-policy', CONSOLE_POLICY);
      if (path.includes('/assets/'))
        response.setHeader('cache-control', 'public, max-age=31536000, immutable');
    },
  });
  const sendPage = (reply: FastifyReply) =>
    reply
      .header('content-security-policy', CONSOLE_POLICY)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(page);
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendPage(reply));
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const lastSegment = path.slice(path.lastIndexOf('/') + 1);
    if (API_PREFIXES.some((prefix) => path.startsWith(prefix)) || lastSegment.includes('.')) {
      return sendProblem(reply, routeNotFound(request));
    }
    return sendPage(reply);
  });
}

/**
 * Without a built console (an install without its build tools), the emails' links still land somewhere that works:
 * /verify-email and /lock-account redirect to the API's own script-free pages for the same token, whose button
 * posts it (opening either changes nothing, as on the console).
 */
export function registerLinkLandingFallbacks(app: FastifyInstance): void {
  const landings = [
    ['/verify-email', '/v1/auth/verify-email'],
    ['/lock-account', '/v1/account/lock-link'],
  ] as const;
  for (const [from, to] of landings) {
    app.get(from, { schema: { hide: true } }, async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.redirect(`${to}${query}`, 302);
    });
  }
}
