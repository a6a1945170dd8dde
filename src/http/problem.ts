import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../core/errors.ts';

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
  RATE_LIMITED: 429,
  PRICE_UNAVAILABLE: 422,
  INVALID_CREDENTIALS: 401,
  MFA_REQUIRED: 401,
  MFA_LOCKED: 429,
  ACCOUNT_LOCKED: 403,
  EMAIL_NOT_VERIFIED: 403,
  STEP_UP_REQUIRED: 403,
  CSRF_FAILED: 403,
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
  RATE_LIMITED: 'Too many requests',
  PRICE_UNAVAILABLE: 'No price for that asset at that time',
  INVALID_CREDENTIALS: 'Invalid credentials',
  MFA_REQUIRED: 'Second factor required',
  MFA_LOCKED: 'Second factors temporarily locked',
  ACCOUNT_LOCKED: 'Account locked',
  EMAIL_NOT_VERIFIED: 'Email address not verified',
  STEP_UP_REQUIRED: 'A fresh second factor for this action is required',
  CSRF_FAILED: 'CSRF token missing or wrong',
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

function build(request: FastifyRequest, fields: ProblemFields): Problem {
  return {
    ...(fields.extensions ?? {}),
    type: problemType(fields.code),
    title: fields.title,
    status: fields.status,
    detail: fields.detail,
    instance: request.url,
    code: fields.code,
    ...(fields.field === undefined ? {} : { field: fields.field }),
    ...(fields.errors === undefined ? {} : { errors: fields.errors }),
    request_id: request.id,
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
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
  return { field: base.join('.'), reason: issue.message ?? `fails ${issue.keyword}` };
}

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
