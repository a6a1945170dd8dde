import { DomainError } from '../errors.ts';
import { compareUsd, parseUsdExact, type Usd } from '../money/usd.ts';

/**
 * How many different operators must approve a withdrawal held for review: two when its USD value at confirmation
 * is above the threshold, and two when it has none (unpriced, or a stored value that does not read as one: fail
 * closed); one otherwise. A reject by any one operator ends the review whatever the value.
 */
export function approvalsRequired(storedUsdValue: string | null, threshold: Usd): 1 | 2 {
  const value = readStoredUsd(storedUsdValue);
  if (value === undefined) return 2;
  return compareUsd(value, threshold) > 0 ? 2 : 1;
}

function readStoredUsd(text: string | null): Usd | undefined {
  if (text === null) return undefined;
  try {
    return parseUsdExact(text, 'usd_value');
  } catch (error) {
    if (error instanceof DomainError) return undefined;
    throw error;
  }
}

/** "1 of 2 approvals", as the queue and the CLI say it. */
export function approvalStatus(count: number, required: number): string {
  return `${count} of ${required} approval${required === 1 ? '' : 's'}`;
}
