/**
 * Domain errors are values with a tag, not strings. The HTTP layer maps each tag to a status and
 * an RFC 9457 problem body in one place (src/http/problem.ts); the CLI prints the same fields.
 */
export const ERROR_STATUS = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_MISMATCH: 422,
  INSUFFICIENT_FUNDS: 409,
  ALREADY_RESOLVED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  DATABASE_UNAVAILABLE: 503,
  PRICE_UNAVAILABLE: 422,
  INVALID_CREDENTIALS: 401,
  MFA_REQUIRED: 401,
  MFA_LOCKED: 429,
  ACCOUNT_LOCKED: 403,
  EMAIL_NOT_VERIFIED: 403,
  STEP_UP_REQUIRED: 403,
  CSRF_FAILED: 403,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** The input field at fault, as a JSON pointer-ish path ("amount", "body/destination"). */
  readonly field: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.field = options.field;
    this.details = options.details === undefined ? undefined : Object.freeze({ ...options.details });
  }
}

export function invalidInput(field: string, reason: string): DomainError {
  return new DomainError('INVALID_INPUT', reason, { field });
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError('NOT_FOUND', `${what} ${id} does not exist`, { details: { id } });
}

/** For conditions that must never happen; a failed assertion is a bug, not bad input. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
