import { invalidInput, notFound } from '../../core/errors.ts';
import { pageOf, parseIdField, parsePage } from '../../core/list-query.ts';
import { currentFactors } from '../../store/identity/factors.ts';
import { findCustomers, findPrincipal, type Principal } from '../../store/identity/principals.ts';
import type { ServiceContext } from '../context.ts';
import { balancesOf } from '../deposits.ts';
import { authorize, type OperatorActor } from './acting-operator.ts';

const CUSTOMER_PAGE = { default: 50, max: 200 };

function customerView(principal: Principal) {
  return {
    id: principal.id,
    email: principal.email,
    email_verified_at: principal.email_verified_at,
    created_at: principal.created_at,
    locked_at: principal.locked_at,
    locked_reason: principal.locked_reason,
    withdrawals_locked_until: principal.withdrawals_locked_until,
  };
}

/** Customers for operators, newest first, by the start of their email (`email`), a page at a time. */
export async function searchCustomers(
  context: ServiceContext,
  actor: OperatorActor,
  query: { limit?: unknown; starting_after?: unknown; email?: unknown } = {},
) {
  authorize(actor, 'customer.read');
  const wanted = parsePage(query, CUSTOMER_PAGE);
  if (query.email !== undefined && (typeof query.email !== 'string' || query.email.length > 254)) {
    throw invalidInput('email', 'must be the start of an email address, at most 254 characters');
  }
  const prefix = query.email === undefined ? undefined : query.email.toLowerCase();
  const rows = await findCustomers(context.database, prefix, wanted.limit + 1, wanted.startingAfter);
  const { items, hasMore } = pageOf(rows, wanted);
  return { customers: items.map(customerView), has_more: hasMore };
}

/** One customer for operators: the account, its balances and its second factors (never a secret). */
export async function getCustomer(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'customer.read');
  const customerId = parseIdField('id', id);
  const principal = await findPrincipal(context.database, customerId);
  if (principal === undefined || principal.kind !== 'customer') throw notFound('customer', customerId);
  const factors = await currentFactors(context.database, principal);
  return {
    ...customerView(principal),
    ...(await balancesOf(context, principal.id)),
    factors: factors
      .filter((f) => f.method !== 'recovery')
      .map((f) => ({ id: f.id, method: f.method, label: f.label, activated_at: f.activated_at })),
    recovery_codes_left: factors.filter((f) => f.method === 'recovery').length,
  };
}
