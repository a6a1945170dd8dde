/** Five consecutive second-factor failures lock second factors; each further lock lasts twice as long. */
export const MAX_CONSECUTIVE_MFA_FAILURES = 5;
const FIRST_LOCK_MS = 5 * 60_000;
const LONGEST_LOCK_MS = 24 * 60 * 60_000;

/** How long the n-th lock (1-based) lasts: 5 min, 10 min, 20 min ... at most 24 h. */
export function mfaLockDurationMs(lockNumber: number): number {
  const doublings = Math.min(Math.max(lockNumber - 1, 0), 20);
  return Math.min(FIRST_LOCK_MS * 2 ** doublings, LONGEST_LOCK_MS);
}
