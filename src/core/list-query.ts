import { invalidInput } from './errors.ts';
import { isUuid } from './ids.ts';
import { pageLimit } from './paging.ts';

/**
 * The query of a list the way integrators expect it: `limit` (1..max), `starting_after` (the last id of the page
 * before; malformed is a 400, never ignored) and time bounds (`created_from` inclusive, `created_until` exclusive,
 * ISO-8601). The answer is `{ <items>, has_more }`.
 */
export interface Page {
  readonly limit: number;
  readonly startingAfter: string | undefined;
}

export function parsePage(
  input: { readonly limit?: unknown; readonly starting_after?: unknown },
  options: { readonly default: number; readonly max: number },
): Page {
  const limit = pageLimit(input.limit, options);
  if (input.starting_after === undefined) return { limit, startingAfter: undefined };
  return { limit, startingAfter: parseIdField('starting_after', input.starting_after) };
}

export function parseIdField(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isUuid(value))
    throw invalidInput(field, 'is not an id (a lowercase UUID)');
  return value;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An instant given as ISO-8601 (a date, or a date and time with its zone), as the stored UTC text. */
export function parseInstant(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalidInput(field, 'must be an ISO-8601 date or time with its zone, like 2026-12-03T06:00:00Z');
  }
  return new Date(value).toISOString();
}

/** The page of `rows` (asked for limit + 1) and whether another follows. */
export function pageOf<T>(rows: readonly T[], page: Page): { items: T[]; hasMore: boolean } {
  return { items: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
