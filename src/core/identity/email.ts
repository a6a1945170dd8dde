import { invalidInput } from '../errors.ts';

const MAX_EMAIL_LENGTH = 254;
// Deliberately plain: one @, a dotted domain, no spaces or control characters. Full RFC 5322 is not the goal;
// refusing the odd but valid address is better than accepting one that SMTP servers treat differently.
const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** Lower-cased, validated email; the unique key of a customer. */
export function normalizeEmail(input: unknown, field = 'email'): string {
  if (typeof input !== 'string') throw invalidInput(field, 'must be a string');
  if (input.length === 0) throw invalidInput(field, 'is required');
  if (input.length > MAX_EMAIL_LENGTH)
    throw invalidInput(field, `must be at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL_PATTERN.test(input)) throw invalidInput(field, 'is not a valid email address');
  return input.toLowerCase();
}
