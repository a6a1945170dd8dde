import { ApiFailure, type Problem } from './api.ts';

/** What went wrong and what to do, in words, for each problem code the API answers with. */
export interface Explained {
  readonly what: string;
  readonly todo: string;
}

const BY_CODE: Record<string, Explained> = {
  INVALID_INPUT: {
    what: 'Something in the form is not right.',
    todo: 'Check the highlighted field and try again.',
  },
  UNAUTHENTICATED: { what: 'You are not signed in, or your session ended.', todo: 'Sign in again.' },
  FORBIDDEN: { what: 'Your account is not allowed to do this.', todo: 'Ask someone with the right role.' },
  NOT_FOUND: { what: 'We could not find that.', todo: 'Go back and check the link or the id.' },
  CONFLICT: { what: 'This clashes with something that already exists.', todo: 'Reload and check.' },
  ALREADY_EXISTS: { what: 'This already exists.', todo: 'Use the existing one.' },
  LIMIT_REACHED: { what: 'A limit was reached.', todo: 'Remove something first, or wait.' },
  WRONG_STATE: {
    what: 'This can no longer be done: its state changed.',
    todo: 'Reload to see where it stands.',
  },
  WITHDRAWAL_EXPIRED: {
    what: 'The withdrawal was not confirmed in time and expired.',
    todo: 'Start a new withdrawal.',
  },
  TERMS_CHANGED: {
    what: 'The withdrawal no longer matches what you approved, so it was cancelled.',
    todo: 'Start a new withdrawal and check every detail.',
  },
  ILLEGAL_TRANSITION: { what: 'This step is not possible from the current state.', todo: 'Reload the page.' },
  IDEMPOTENCY_MISMATCH: { what: 'A retry did not match the first request.', todo: 'Reload and start again.' },
  IDEMPOTENCY_IN_PROGRESS: {
    what: 'The same request is still being handled.',
    todo: 'Wait a moment and reload.',
  },
  INSUFFICIENT_FUNDS: {
    what: 'Your available balance does not cover the amount plus the fee.',
    todo: 'Lower the amount.',
  },
  // The console's own name for INSUFFICIENT_FUNDS when paying a reimbursement (the treasury, not a customer, is short).
  TREASURY_INSUFFICIENT: {
    what: 'The treasury cannot cover this batch of reimbursements; nothing in it was paid.',
    todo: 'Have an admin fund the treasury (drawbridge treasury fund), then pay again.',
  },
  ALREADY_RESOLVED: { what: 'This was already resolved.', todo: 'Reload to see the outcome.' },
  PAYLOAD_TOO_LARGE: { what: 'What you sent is too large.', todo: 'Shorten it and try again.' },
  UNSUPPORTED_MEDIA_TYPE: { what: 'The request was not understood.', todo: 'Reload the page and try again.' },
  RATE_LIMITED: { what: 'Too many attempts.', todo: 'Wait a few minutes before trying again.' },
  DATABASE_UNAVAILABLE: {
    what: 'Drawbridge cannot reach its database right now.',
    todo: 'Try again in a minute.',
  },
  PRICE_UNAVAILABLE: { what: 'No current price is available.', todo: 'Try again later.' },
  INVALID_CREDENTIALS: {
    what: 'The email, password or code is not right.',
    todo: 'Check them and try again (a code changes every 30 seconds).',
  },
  MFA_REQUIRED: {
    what: 'Your second factor is needed.',
    todo: 'Enter the code from your authenticator, or use your passkey.',
  },
  MFA_LOCKED: {
    what: 'Too many wrong codes: second-factor sign-in is paused.',
    todo: 'Wait and try again later.',
  },
  TOTP_ALREADY_USED: {
    what: 'That code was just used.',
    todo: 'Wait for your authenticator to show the next code (up to 30 seconds).',
  },
  ACCOUNT_LOCKED: {
    what: 'This account is locked.',
    todo: 'Contact support to unlock it after checking your security.',
  },
  EMAIL_NOT_VERIFIED: {
    what: 'Your email address is not confirmed yet.',
    todo: 'Open the link in the email we sent you (the dev mailbox in a demo).',
  },
  STEP_UP_REQUIRED: {
    what: 'This change needs a fresh second factor.',
    todo: 'Confirm with your code or passkey.',
  },
  CSRF_FAILED: {
    what: 'Your session could not be confirmed for this change.',
    todo: 'Sign out and sign in again.',
  },
  SAME_OPERATOR: {
    what: 'A second, different operator must approve this: you asked for it yourself.',
    todo: 'Ask another operator (another analyst, or another incident commander) to approve it.',
  },
  REENROLMENT_REQUIRED: {
    what: 'Your second factors were revoked for your safety after a security incident.',
    todo: 'Open the re-enrolment link we emailed you, or ask for a new one on the sign-in page.',
  },
  HALTED: { what: 'Withdrawals are halted.', todo: 'Wait until the halt is lifted.' },
  NETWORK: { what: 'Drawbridge could not be reached.', todo: 'Check your connection and try again.' },
  UNEXPECTED_ANSWER: {
    what: 'This page could not be shown: Drawbridge answered in a way it did not expect.',
    todo: 'Reload the page; if it happens again, contact support.',
  },
  PASSKEY_CANCELLED: {
    what: 'The passkey prompt was closed or timed out.',
    todo: 'Try again, or use your authenticator code.',
  },
};

const FALLBACK: Explained = {
  what: 'Something went wrong on our side.',
  todo: 'Try again; if it persists, contact support.',
};

export function explain(problem: Problem): Explained & { field?: string; reason?: string } {
  const known = (problem.code !== undefined && BY_CODE[problem.code]) || FALLBACK;
  const field =
    typeof problem.field === 'string'
      ? problem.field.replace(/^\/(body|query|params|headers)\//, '')
      : undefined;
  // The API's reason for a bad field is written for people ("must be 10..128 characters"); nothing else is shown raw.
  const reason =
    problem.code === 'INVALID_INPUT' ||
    problem.code === 'INSUFFICIENT_FUNDS' ||
    problem.code === 'TREASURY_INSUFFICIENT'
      ? reasonOf(problem)
      : undefined;
  // A 429 or 503 says how long to wait: say it, rather than "a few minutes".
  const wait = problem.retry_after_s;
  const todo =
    typeof wait === 'number' && Number.isFinite(wait) && wait > 0
      ? `Wait ${wait < 120 ? `${Math.ceil(wait)} seconds` : `${Math.ceil(wait / 60)} minutes`}, then try again.`
      : known.todo;
  return {
    ...known,
    todo,
    ...(field === undefined ? {} : { field }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function reasonOf(problem: Problem): string | undefined {
  const errors = problem.errors;
  if (Array.isArray(errors) && typeof errors[0]?.reason === 'string') return errors[0].reason as string;
  return typeof problem.detail === 'string' ? problem.detail : undefined;
}

/** Any thrown value as a problem (a WebAuthn prompt closed, a network failure, a bug). */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiFailure) return error.problem;
  if (error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError'))
    return { code: 'PASSKEY_CANCELLED' };
  return { code: 'UNKNOWN' };
}
