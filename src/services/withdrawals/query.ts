import { findWithdrawal, listWithdrawals, withdrawalEvents } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { actingOperator, authorize } from '../identity/acting-operator.ts';
import type { Authenticated } from '../identity/sessions.ts';
import { notFoundWithdrawal } from './request.ts';
import { viewWithdrawal } from './view.ts';

const PAGE = 50;
const HISTORY_LIMIT = 100;

export async function listMyWithdrawals(context: ServiceContext, auth: Authenticated, before?: string) {
  const rows = await listWithdrawals(context.database, auth.principalId, PAGE, before);
  return { withdrawals: rows.map(viewWithdrawal) };
}

/** Operators see any withdrawal; a customer only their own (another's is "not found", not "forbidden"). */
export async function getWithdrawal(context: ServiceContext, auth: Authenticated, id: string) {
  if (auth.kind === 'operator') authorize(actingOperator(auth), 'withdrawal.read');
  const row = await findWithdrawal(context.database, id);
  if (row === undefined || (auth.kind === 'customer' && row.account_id !== auth.principalId))
    throw notFoundWithdrawal(id);
  const history = await withdrawalEvents(context.database, id, HISTORY_LIMIT);
  return { ...viewWithdrawal(row), history };
}
