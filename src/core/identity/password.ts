import { invalidInput } from '../errors.ts';

/** NIST SP 800-63B: at least 8; we ask 10. The upper bound keeps hashing cost bounded (no 1 MB passwords). */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

// Lone surrogates are not text; the hashing library would fold them all into one replacement character.
const LONE_SURROGATE = /\p{Cs}/u;

export function checkNewPassword(input: unknown, field = 'password'): string {
  if (typeof input !== 'string') throw invalidInput(field, 'must be a string');
  if (LONE_SURROGATE.test(input)) throw invalidInput(field, 'must be well-formed Unicode');
  const length = [...input].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw invalidInput(field, `must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH)
    throw invalidInput(field, `must be at most ${PASSWORD_MAX_LENGTH} characters`);
  return input;
}

/** A presented (not new) password: only the bound is checked, so a login never leaks the policy. */
export function checkPresentedPassword(input: unknown, field = 'password'): string {
  if (typeof input !== 'string') throw invalidInput(field, 'must be a string');
  if ([...input].length > PASSWORD_MAX_LENGTH) {
    throw invalidInput(field, `must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  return input;
}
