import { invalidInput } from '../../core/errors.ts';
import { pageOf, parseIdField, parseInstant, parsePage } from '../../core/list-query.ts';
import { getAsset } from '../../core/money/index.ts';
import { isWithdrawalState, WITHDRAWAL_STATES } from '../../core/withdrawals/states.ts';
import { allApprovalsOf } from '../../store/review-approvals.ts';
import {
  findWithdrawal,
  findWithdrawals,
  type WithdrawalFilter,
  withdrawalEvents,
} from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { actingOperator, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import type { Authenticated } from '../identity/sessions.ts';
import { notFoundWithdrawal } from './request.ts';
import { viewWithdrawal } from './view.ts';

const PAGE = { default: 50, max: 200 };
const HISTORY_LIMIT = 100;

/** A list's query string: every field optional; anything malformed is a 400 naming it. */
export interface WithdrawalQuery {
  readonly limit?: unknown;
  readonly starting_after?: unknown;
  readonly state?: unknown;
  readonly asset?: unknown;
  readonly account_id?: unknown;
  readonly created_from?: unknown;
  readonly created_until?: unknown;
}

function parseFilter(query: WithdrawalQuery): WithdrawalFilter {
  if (query.state !== undefined && !isWithdrawalState(query.state)) {
    throw invalidInput('state', `must be one of ${WITHDRAWAL_STATES.join(', ')}`);
  }
  return {
    state: query.state,
    asset: query.asset === undefined ? undefined : getAsset(String(query.asset)).code,
    accountId: query.account_id === undefined ? undefined : parseIdField('account_id', query.account_id),
    createdFrom: parseInstant('created_from', query.created_from),
    createdUntil: parseInstant('created_until', query.created_until),
  };
}

async function page(context: ServiceContext, filter: WithdrawalFilter, query: WithdrawalQuery) {
  const wanted = parsePage(query, PAGE);
  const rows = await findWithdrawals(context.database, filter, wanted.limit + 1, wanted.startingAfter);
  const { items, hasMore } = pageOf(rows, wanted);
  return { withdrawals: items.map(viewWithdrawal), has_more: hasMore };
}

/** A customer's own withdrawals, newest first, filtered and paged like the operators' search. */
export async function listMyWithdrawals(
  context: ServiceContext,
  auth: Authenticated,
  query: WithdrawalQuery = {},
) {
  if (query.account_id !== undefined)
    throw invalidInput('account_id', 'a customer lists their own withdrawals');
  return page(context, { ...parseFilter(query), accountId: auth.principalId }, query);
}

/** Any customer's withdrawals, for operators: by state, asset, account and time, newest first. */
export async function searchWithdrawals(
  context: ServiceContext,
  actor: OperatorActor,
  query: WithdrawalQuery = {},
) {
  authorize(actor, 'withdrawal.read');
  return page(context, parseFilter(query), query);
}

/** Operators see any withdrawal; a customer only their own (another's is "not found", not "forbidden"). */
export async function getWithdrawal(context: ServiceContext, auth: Authenticated, id: string) {
  if (auth.kind === 'operator') return operatorWithdrawal(context, actingOperator(auth), id);
  return (await withHistory(context, id, auth.principalId)).view;
}

/**
 * Any withdrawal with its history, for an operator (the API and `drawbridge withdrawal show`), and what decided it:
 * each screening rule's outcome and reason, and the price point it was valued at.
 */
export async function operatorWithdrawal(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'withdrawal.read');
  const { row, view } = await withHistory(context, parseIdField('id', id), undefined);
  // An approval that did not (yet) move the withdrawal is no state move, but it is part of what happened to it.
  const approvals = (await allApprovalsOf(context.database, row.id)).map((a) => ({
    at: a.at,
    from_state: 'held_for_review',
    to_state: 'held_for_review',
    actor: `operator:${a.operator_id}`,
    reason: a.reason,
    event: 'review_approval',
    hold_round: a.hold_round,
  }));
  // A stable sort by time: an approval comes before the move it made at the same instant.
  const history = [...approvals, ...view.history].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    ...view,
    history,
    account_id: row.account_id,
    rules: rulesOf(row.screening),
    price:
      row.usd_price === null
        ? null
        : { usd: row.usd_price, at: row.usd_price_at, source: row.usd_price_source },
  };
}

/** The per-rule results screening stored on the withdrawal (each rule, its version, outcome and reason). */
export function rulesOf(screening: string | null) {
  if (screening === null) return [];
  try {
    return (
      JSON.parse(screening) as { rule: string; version: number; outcome: string; reason: string }[]
    ).map((r) => ({ rule: r.rule, version: r.version, outcome: r.outcome, reason: r.reason }));
  } catch {
    return [];
  }
}

async function withHistory(context: ServiceContext, id: string, ownerId: string | undefined) {
  const row = await findWithdrawal(context.database, id);
  if (row === undefined || (ownerId !== undefined && row.account_id !== ownerId))
    throw notFoundWithdrawal(id);
  const history = await withdrawalEvents(context.database, id, HISTORY_LIMIT);
  return { row, view: { ...viewWithdrawal(row), history } };
}
