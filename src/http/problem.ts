import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../core/errors.ts';
import { neutraliseText, quoteInput } from '../core/quote-input.ts';
import { ID_PATTERN } from './schemas.ts';

/** An RFC 9457 problem body, with the field at fault named whenever there is one. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly code: string;
  readonly field?: string;
  readonly errors?: readonly { readonly field: string; readonly reason: string }[];
  readonly request_id: string;
  readonly [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Each domain error's HTTP status: the one mapping from tags to HTTP. */
const STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  LIMIT_REACHED: 409,
  WRONG_STATE: 409,
  WITHDRAWAL_EXPIRED: 409,
  TERMS_CHANGED: 409,
  ILLEGAL_TRANSITION: 409,
  IDEMPOTENCY_MISMATCH: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  INSUFFICIENT_FUNDS: 409,
  ALREADY_RESOLVED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  DATABASE_UNAVAILABLE: 503,
  PRICE_UNAVAILABLE: 422,
  INVALID_CREDENTIALS: 401,
  MFA_REQUIRED: 401,
  MFA_LOCKED: 429,
  TOTP_ALREADY_USED: 409,
  ACCOUNT_LOCKED: 403,
  EMAIL_NOT_VERIFIED: 403,
  STEP_UP_REQUIRED: 403,
  REENROLMENT_REQUIRED: 403,
  CSRF_FAILED: 403,
  SAME_OPERATOR: 409,
};

const TITLES: Record<ErrorCode, string> = {
  INVALID_INPUT: 'Invalid input',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflict',
  ALREADY_EXISTS: 'Already exists',
  LIMIT_REACHED: 'Limit reached',
  WRONG_STATE: 'Not possible in the current state',
  WITHDRAWAL_EXPIRED: 'Withdrawal expired',
  TERMS_CHANGED: 'Withdrawal terms changed',
  IDEMPOTENCY_MISMATCH: 'Idempotency key reused with a different request',
  IDEMPOTENCY_IN_PROGRESS: 'A request with this Idempotency-Key is still being processed',
  INSUFFICIENT_FUNDS: 'Insufficient funds',
  ALREADY_RESOLVED: 'Already resolved',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  RATE_LIMITED: 'Too many requests',
  DATABASE_UNAVAILABLE: 'Database unavailable',
  PRICE_UNAVAILABLE: 'No price for that asset at that time',
  INVALID_CREDENTIALS: 'Invalid credentials',
  MFA_REQUIRED: 'Second factor required',
  MFA_LOCKED: 'Second factors temporarily locked',
  TOTP_ALREADY_USED: 'Authenticator code already used',
  ACCOUNT_LOCKED: 'Account locked',
  EMAIL_NOT_VERIFIED: 'Email address not verified',
  STEP_UP_REQUIRED: 'A fresh second factor for this action is required',
  REENROLMENT_REQUIRED: 'Re-enrolling a second factor needs the emailed link or a recovery code',
  CSRF_FAILED: 'CSRF token missing or wrong',
  SAME_OPERATOR: 'A second, different operator is required',
  ILLEGAL_TRANSITION: 'Not a step of the withdrawal life cycle',
};

function problemType(code: string): string {
  return `https://drawbridge.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}

interface ProblemFields {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly field?: string | undefined;
  readonly errors?: readonly { field: string; reason: string }[] | undefined;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/** Longest field path, detail and instance an answer carries (a body key or a URL can be as long as the limits). */
const MAX_FIELD_CHARS = 200;
const MAX_DETAIL_CHARS = 1000;
const MAX_INSTANCE_CHARS = 1000;

/** Cut to `max` characters, then every control, bidi and invisible character shown as an escape. */
function safeText(text: string, max: number): string {
  const chars = Array.from(text);
  return neutraliseText(chars.length > max ? `${chars.slice(0, max).join('')}\u2026` : text);
}

/** The same for every string inside an extension value (a domain error's details may carry an id it was given). */
function safeValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return safeText(value, MAX_DETAIL_CHARS);
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => safeValue(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [safeText(key, MAX_FIELD_CHARS), safeValue(item, depth + 1)]),
  );
}

const HEADER_FIELDS = new Set(['x-csrf-token', 'content-type', 'idempotency-key', 'authorization']);

/**
 * The field at fault as a JSON pointer (RFC 6901) into the request: `/body/amount`, `/body/proof/code`,
 * `/body/events/1`, `/query/limit`, `/params/id`, `/headers/x-csrf-token`; `/body` for the body as a whole and
 * `/url` for the path. Services and schemas name fields as they know them ("amount", "body.network",
 * "querystring.limit"); a bare name is found where the request carries it (path, then query), else in the body.
 */
export function pointerInto(request: FastifyRequest, field: string): string {
  if (field.startsWith('/')) return field;
  const lower = field.toLowerCase();
  if (HEADER_FIELDS.has(lower)) return `/headers/${lower}`;
  if (field === 'body' || field === 'url') return `/${field}`;
  const scoped = /^(body|querystring|params)\.(.+)$/.exec(field);
  let part: string;
  let path: string;
  if (scoped !== null) {
    part = scoped[1] === 'querystring' ? 'query' : (scoped[1] as string);
    path = scoped[2] as string;
  } else {
    const head = field.split(/[./]/)[0] ?? field;
    const has = (value: unknown) => typeof value === 'object' && value !== null && Object.hasOwn(value, head);
    part = has(request.params) ? 'params' : has(request.query) ? 'query' : 'body';
    path = field;
  }
  const segments = path.split(/[./]/).map((s) => s.replaceAll('~', '~0'));
  return `/${part}/${segments.join('/')}`;
}

/**
 * Every answer's text goes through here, whatever built its message: services quote ids and names they were
 * given, Ajv names the caller's own keys in field paths, the URL is the caller's. None of it can carry a control,
 * bidi (U+202E) or invisible character out to whoever reads the answer.
 */
function build(request: FastifyRequest, fields: ProblemFields): Problem {
  return {
    ...(fields.extensions === undefined ? {} : (safeValue(fields.extensions) as Record<string, unknown>)),
    type: problemType(fields.code),
    title: fields.title,
    status: fields.status,
    detail: safeText(fields.detail, MAX_DETAIL_CHARS),
    instance: safeText(request.url, MAX_INSTANCE_CHARS),
    code: fields.code,
    ...(fields.field === undefined
      ? {}
      : { field: safeText(pointerInto(request, fields.field), MAX_FIELD_CHARS) }),
    ...(fields.errors === undefined
      ? {}
      : {
          errors: fields.errors.map((e) => ({
            field: safeText(pointerInto(request, e.field), MAX_FIELD_CHARS),
            reason: safeText(e.reason, MAX_DETAIL_CHARS),
          })),
        }),
    request_id: request.id,
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  // Set here as well as in the onSend hook: Fastify's framework errors (a bad URL) are answered outside the hooks.
  return reply
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .header('x-request-id', problem.request_id)
    .send(problem);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns an Ajv issue into "body.amount" plus a reason a person can act on. */
function describeValidationIssue(
  issue: AjvIssue,
  context: string | undefined,
): { field: string; reason: string } {
  const base = [context ?? 'body', ...issue.instancePath.split('/').filter((p) => p !== '')];
  if (issue.keyword === 'required') {
    return { field: [...base, String(issue.params.missingProperty)].join('.'), reason: 'is required' };
  }
  if (issue.keyword === 'additionalProperties') {
    return {
      field: [...base, String(issue.params.additionalProperty)].join('.'),
      reason: 'is not a known field',
    };
  }
  if (issue.keyword === 'pattern' && issue.params.pattern === ID_PATTERN) {
    return { field: base.join('.'), reason: 'must be an id (a lowercase UUID)' };
  }
  return { field: base.join('.'), reason: issue.message ?? `fails ${issue.keyword}` };
}

/** How long a caller should wait before retrying when the database is unreachable. */
export const DATABASE_RETRY_AFTER_S = 5;

/** Socket errors of the database connection (the database is the only thing a request talks to over a network). */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * PostgreSQL SQLSTATEs saying the server cannot serve this connection now: class 08 (connection exception),
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** What node-postgres and its pool say when a connection is lost, refused by the pool or timed out. */
const CONNECTION_LOST_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;

/**
 * Whether this error (or what caused it) says the database cannot be reached right now, rather than that the
 * request or the code is wrong: such a request may well succeed in a moment, so it is a 503 with Retry-After.
 * SQLite's SQLITE_BUSY (another process held the write lock past busy_timeout) is the same kind of moment.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
    if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) return true;
  }
  if (typeof message === 'string' && CONNECTION_LOST_MESSAGE.test(message)) return true;
  // Node's connect tries every address of a host name and reports an AggregateError of the attempts.
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return isDatabaseUnavailable(cause, depth + 1);
}

/** Fastify's own 4xx messages that quote the caller's URL; the answer says what is wrong without quoting it. */
const FRAMEWORK_DETAILS: Readonly<Record<string, { field: string; detail: string }>> = {
  FST_ERR_BAD_URL: { field: 'url', detail: 'the path is not a valid URL component (bad percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: { field: 'url', detail: 'a path parameter is longer than 100 characters' },
};

/** The one place errors become HTTP answers. Anything unexpected is a 500 that reveals nothing. */
export function toProblem(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof DomainError) {
    return build(request, {
      status: STATUS[error.code],
      code: error.code,
      title: TITLES[error.code],
      detail: error.field === undefined ? error.message : `${error.field}: ${error.message}`,
      field: error.field,
      errors: error.field === undefined ? undefined : [{ field: error.field, reason: error.message }],
      extensions: error.details,
    });
  }
  // A Fastify error carrying a status (a client that hung up mid-body is an ECONNRESET with 400) is about the
  // request; only an error without one can be the database's.
  const hasStatus = typeof (error as { statusCode?: unknown } | null)?.statusCode === 'number';
  if (!hasStatus && isDatabaseUnavailable(error)) {
    return build(request, {
      status: STATUS.DATABASE_UNAVAILABLE,
      code: 'DATABASE_UNAVAILABLE',
      title: TITLES.DATABASE_UNAVAILABLE,
      detail: `the database cannot be reached right now; retry in ${DATABASE_RETRY_AFTER_S} s`,
      extensions: { retry_after_s: DATABASE_RETRY_AFTER_S },
    });
  }
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const issues = (fastifyError.validation as AjvIssue[]).map((issue) =>
      describeValidationIssue(issue, fastifyError.validationContext),
    );
    const first = issues[0] ?? { field: 'body', reason: 'is invalid' };
    return build(request, {
      status: 400,
      code: 'INVALID_INPUT',
      title: TITLES.INVALID_INPUT,
      detail: `${first.field}: ${first.reason}`,
      field: first.field,
      errors: issues,
    });
  }
  const status = fastifyError.statusCode;
  const known = typeof fastifyError.code === 'string' ? FRAMEWORK_DETAILS[fastifyError.code] : undefined;
  if (known !== undefined && typeof status === 'number') {
    return build(request, {
      status,
      code: 'INVALID_INPUT',
      title: 'Bad request',
      detail: `${known.field}: ${known.detail}`,
      field: known.field,
      errors: [{ field: known.field, reason: known.detail }],
    });
  }
  if (status === 415) {
    return build(request, {
      status,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      title: TITLES.UNSUPPORTED_MEDIA_TYPE,
      detail: 'content-type: send the body as application/json',
      field: 'content-type',
      errors: [{ field: 'content-type', reason: 'must be application/json' }],
    });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const field =
      status === 413 || status === 415 || fastifyError.code?.includes('JSON') ? 'body' : undefined;
    return build(request, {
      status,
      code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 429 ? 'RATE_LIMITED' : 'INVALID_INPUT',
      title: status === 413 ? TITLES.PAYLOAD_TOO_LARGE : status === 429 ? TITLES.RATE_LIMITED : 'Bad request',
      detail: fastifyError.message ?? 'bad request',
      field,
      errors: field === undefined ? undefined : [{ field, reason: fastifyError.message ?? 'is invalid' }],
    });
  }
  return build(request, {
    status: 500,
    code: 'INTERNAL',
    title: 'Internal error',
    detail: 'the server could not complete the request; it has been logged',
  });
}

/** The answer to a path no route serves; the path is quoted, never echoed raw. */
export function routeNotFound(request: FastifyRequest): Problem {
  return build(request, {
    status: 404,
    code: 'NOT_FOUND',
    title: TITLES.NOT_FOUND,
    detail: `no route ${request.method} ${quoteInput(request.url.split('?')[0], 200)}`,
  });
}

/**
 * The answer to a request Node's HTTP parser refused or timed out (server 'clientError'): there is no request
 * object, so this is the whole HTTP/1.1 response as bytes, with `Connection: close`. A problem body like every
 * other 4xx; what the parser choked on is not quoted.
 */
export function clientErrorResponse(error: { code?: unknown }, requestId: string): string {
  const { status, detail } =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? { status: 408, detail: 'the request did not arrive in time' }
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? { status: 431, detail: 'the request headers are too large' }
        : { status: 400, detail: 'the request is not valid HTTP/1.1' };
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const code = status === 408 ? 'REQUEST_TIMEOUT' : 'INVALID_INPUT';
  const problem: Problem = {
    type: problemType(code),
    title,
    status,
    detail,
    instance: '',
    code,
    request_id: requestId,
  };
  const body = JSON.stringify(problem);
  return (
    `HTTP/1.1 ${status} ${title}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
