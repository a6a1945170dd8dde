import { invalidInput } from './errors.ts';

/**
 * A list's `limit`, as a query string gives it (digits) or a caller passes it (a whole number): anything else, or
 * a number outside 1..max, is refused, never read as the default. Lists page with `starting_after` (the last id of
 * the page before) and answer `has_more`.
 */
export function pageLimit(
  input: unknown,
  options: { readonly default: number; readonly max: number },
): number {
  if (input === undefined) return options.default;
  const limit = typeof input === 'string' && /^[0-9]{1,6}$/.test(input) ? Number(input) : input;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > options.max) {
    throw invalidInput('limit', `must be a whole number from 1 to ${options.max}`);
  }
  return limit;
}
