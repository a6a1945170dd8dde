import { createHash, randomInt } from 'node:crypto';
import { assert, invalidInput } from '../errors.ts';

/**
 * Recovery codes: shown once, stored only as SHA-256. The hash is fast and unsalted, so the codes'
 * entropy is the only defence of a leaked table; 16 Crockford base32 characters give 80 bits, out of
 * reach of an offline search even across every account's codes at once.
 */

export const RECOVERY_CODE_COUNT = 10;
const GROUPS = 4;
const GROUP_LENGTH = 4;
const CODE_LENGTH = GROUPS * GROUP_LENGTH;
// Generous for spaces and dashes a person may type, small enough to refuse junk at once.
const MAX_INPUT_LENGTH = 64;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
// Crockford's decoding: letters that are easily misread map to the digit they look like.
const LOOKALIKES: Readonly<Record<string, string>> = { I: '1', L: '1', O: '0' };

/** Ten fresh codes formatted for people: `xxxx-xxxx-xxxx-xxxx`, lower case. */
export function newRecoveryCodes(): string[] {
  const codes = new Set<string>();
  // Collisions are astronomically unlikely; the bound only keeps the loop finite.
  for (let attempt = 0; attempt < RECOVERY_CODE_COUNT * 2 && codes.size < RECOVERY_CODE_COUNT; attempt++) {
    codes.add(formatCode(randomCode()));
  }
  assert(codes.size === RECOVERY_CODE_COUNT, 'ten distinct recovery codes were drawn');
  return [...codes];
}

/** The canonical form (16 upper-case Crockford characters, no separators), or null for anything else. */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return null;
  // ASCII only before upper-casing: 'ß'.toUpperCase() is 'SS' and 'ı' becomes 'I'.
  if (!/^[\x20-\x7e]*$/.test(input)) return null;
  let canonical = '';
  for (const raw of input.toUpperCase()) {
    if (raw === '-' || raw === ' ') continue;
    const c = LOOKALIKES[raw] ?? raw;
    if (!CROCKFORD.includes(c)) return null;
    canonical += c;
    if (canonical.length > CODE_LENGTH) return null;
  }
  return canonical.length === CODE_LENGTH ? canonical : null;
}

/** SHA-256 (hex) of the normalised code: what is stored and looked up. */
export function hashRecoveryCode(code: string): string {
  const canonical = normalizeRecoveryCode(code);
  if (canonical === null) {
    throw invalidInput('recoveryCode', 'must be 16 characters of Crockford base32, dashes allowed');
  }
  return createHash('sha256').update(canonical, 'ascii').digest('hex');
}

function randomCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CROCKFORD[randomInt(CROCKFORD.length)];
  return code;
}

function formatCode(canonical: string): string {
  const groups: string[] = [];
  for (let i = 0; i < CODE_LENGTH; i += GROUP_LENGTH) groups.push(canonical.slice(i, i + GROUP_LENGTH));
  return groups.join('-').toLowerCase();
}
