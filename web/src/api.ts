import createClient from 'openapi-fetch';
import type { paths } from '../../src/client/schema.d.ts';

/**
 * The API's typed client (the same schema as `drawbridge/client`), on this origin with the session cookie. A change
 * carries the session's CSRF token (x-csrf-token), which the login answer gave us: it is kept in sessionStorage
 * (this tab only) so a reload keeps working. The session token itself lives only in the HttpOnly cookie; the
 * copy in the login answer is dropped. Nothing is ever written to localStorage.
 */
const CSRF_KEY = 'drawbridge.csrf';

export function rememberCsrf(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(CSRF_KEY);
  else sessionStorage.setItem(CSRF_KEY, token);
}

export function hasCsrf(): boolean {
  return sessionStorage.getItem(CSRF_KEY) !== null;
}

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

api.use({
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const csrf = sessionStorage.getItem(CSRF_KEY);
      if (csrf !== null) request.headers.set('x-csrf-token', csrf);
    }
    return request;
  },
});

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly status?: number;
  readonly field?: string;
  readonly state?: string;
  readonly methods?: readonly string[];
  readonly retry_after_s?: number;
  readonly [key: string]: unknown;
}

/** What a failed call gives a page: the problem, or a stand-in when the server could not be reached. */
export class ApiFailure extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.code ?? 'request failed');
  }
}

/**
 * Runs one call of the typed client and returns its data, or throws an ApiFailure with the problem body (or a
 * NETWORK stand-in): a page never sees a raw exception.
 */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch {
    throw new ApiFailure({ code: 'NETWORK', status: 0 });
  }
  if (result.error !== undefined || !result.response.ok) {
    const problem: Problem =
      typeof result.error === 'object' && result.error !== null
        ? (result.error as Problem)
        : { code: 'UNKNOWN', status: result.response.status };
    // How long to wait (a 429 or 503): the body's retry_after_s, else the Retry-After header's seconds.
    const header = Number(result.response.headers.get('retry-after') ?? Number.NaN);
    if (typeof problem.retry_after_s !== 'number' && Number.isInteger(header) && header > 0)
      throw new ApiFailure({ ...problem, retry_after_s: header });
    throw new ApiFailure(problem);
  }
  return result.data as T;
}
