import { isUuid } from '../../core/ids.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import type { ServiceContext } from '../context.ts';

/** At most this many distinct operators are looked up for one answer (one read each); past it, ids only. */
const OPERATORS_NAMED = 50;

const OPERATOR = /^operator:(.+)$/;

/**
 * Who the operators an answer names are, for people: the email of each "operator:<id>" actor, read once per distinct
 * operator of the answer. Anything else (a customer, the monitor, break-glass, an unknown id) is null: the console
 * shows the actor as it is.
 */
export async function operatorEmails(
  context: ServiceContext,
  actors: Iterable<string | null | undefined>,
): Promise<(actor: string | null | undefined) => string | null> {
  const ids = new Set<string>();
  for (const actor of actors) {
    const id = actor == null ? undefined : OPERATOR.exec(actor)?.[1];
    if (id !== undefined && isUuid(id) && ids.size < OPERATORS_NAMED) ids.add(id);
  }
  const emails = new Map<string, string>();
  for (const id of ids) {
    const principal = await findPrincipal(context.database, id);
    if (principal?.kind === 'operator') emails.set(`operator:${id}`, principal.email);
  }
  return (actor) => (actor == null ? null : (emails.get(actor) ?? null));
}
