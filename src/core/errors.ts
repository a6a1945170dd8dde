/**
 * Domain errors are values with a tag, not strings. The tags are declared once here; the HTTP layer maps each to a
 * status and an RFC 9457 problem body in one place (src/http/problem.ts), and the CLI prints the same fields.
 * Core knows nothing of HTTP.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  /** The same id or key already names something different (a ledger transfer, a price, a chain output). */
  'CONFLICT',
  /** The thing to create is already there (an address in the book, a registered passkey, an email). */
  'ALREADY_EXISTS',
  /** A per-account or per-platform maximum is reached (address-book entries, webhook endpoints). */
  'LIMIT_REACHED',
  /** The object is not in a state that allows this (a withdrawal already released, an account not locked). */
  'WRONG_STATE',
  /** The withdrawal was not confirmed within its window; it is cancelled. */
  'WITHDRAWAL_EXPIRED',
  /** The withdrawal's stored terms no longer match its digest (changed around the services); it is cancelled. */
  'TERMS_CHANGED',
  /** Not a step of the withdrawal life cycle (a bug, never input). */
  'ILLEGAL_TRANSITION',
  'IDEMPOTENCY_MISMATCH',
  /** A request with this Idempotency-Key is still being processed: retry shortly. */
  'IDEMPOTENCY_IN_PROGRESS',
  'INSUFFICIENT_FUNDS',
  'ALREADY_RESOLVED',
  'PAYLOAD_TOO_LARGE',
  /** A body that is not application/json (or the route's own type). */
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  /** The database cannot be reached right now: retry after the seconds given. */
  'DATABASE_UNAVAILABLE',
  'PRICE_UNAVAILABLE',
  'INVALID_CREDENTIALS',
  'MFA_REQUIRED',
  'MFA_LOCKED',
  /** The TOTP code this session has just used, presented again within its 30 s step: wait for the next one. */
  'TOTP_ALREADY_USED',
  'ACCOUNT_LOCKED',
  'EMAIL_NOT_VERIFIED',
  'STEP_UP_REQUIRED',
  /** Enrolling a second factor again, after one was revoked, needs the link emailed to the account or a recovery code. */
  'REENROLMENT_REQUIRED',
  'CSRF_FAILED',
  /** The same operator again where two different operators are required (a second approval of a large withdrawal). */
  'SAME_OPERATOR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

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
