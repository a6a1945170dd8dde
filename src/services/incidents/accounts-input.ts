import { invalidInput } from '../../core/errors.ts';
import { parseIdField } from '../../core/list-query.ts';
import { customersAmong } from '../../store/incidents.ts';
import type { Queryable } from '../../store/transaction.ts';

/** A list of 1..max account ids (UUIDs), without repeats: a malformed one is a 400 naming its index. */
export function parseAccountIds(input: unknown, max: number, field = 'account_ids'): string[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > max)
    throw invalidInput(field, `must be a list of 1..${max} account ids`);
  return [...new Set(input.map((id, i) => parseIdField(`${field}/${i}`, id)))];
}

/** Refuses (400, naming the first) unless every id is a customer account's. */
export async function requireCustomers(on: Queryable, ids: readonly string[], field = 'account_ids') {
  const known = await customersAmong(on, ids);
  const missing = ids.findIndex((id) => !known.has(id));
  if (missing >= 0)
    throw invalidInput(`${field}/${missing}`, `${ids[missing]} is not the id of a customer account`);
}
