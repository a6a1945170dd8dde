import { invalidInput } from '../../core/errors.ts';
import { withdrawalOutcome } from '../../core/incidents/outcome.ts';
import { pageOf, parseIdField, parsePage } from '../../core/list-query.ts';
import type { WithdrawalState } from '../../core/withdrawals/states.ts';
import { findAlert } from '../../store/alerts.ts';
import {
  type AffectedWithdrawalRow,
  affectedAccountsPage,
  findIncident,
  flaggedWithdrawalsSince,
  incidentWithdrawalsPage,
  markIncidentWithdrawal,
  markUnmarkedWithdrawals,
  withdrawalAccounts,
} from '../../store/incidents.ts';
import { INCIDENT_CLASSIFICATIONS, type IncidentClassification } from '../../store/schema-incidents.ts';
import { inTransaction } from '../../store/transaction.ts';
import { parseNote } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { type Actor, actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { incidentAudit, incidentToActOn, notFoundIncident } from './incidents.ts';

/**
 * The withdrawals an incident affected: marked by operators (unauthorized, suspect, legitimate, with a note) or
 * from the monitor's findings (unauthorized), each with its outcome derived from its state (core/incidents/outcome).
 */

/** At most this many withdrawals marked by hand in one call. */
export const MARK_MAX = 200;
/** At most this many monitor-flagged withdrawals marked in one call; `has_more` says to call again from the cursor. */
export const MONITOR_MARK_MAX = 2000;
export const AFFECTED_PAGE = { default: 100, max: 1000 };

function parseClassification(input: unknown): IncidentClassification {
  if (typeof input !== 'string' || !(INCIDENT_CLASSIFICATIONS as readonly string[]).includes(input))
    throw invalidInput('classification', `must be one of ${INCIDENT_CLASSIFICATIONS.join(', ')}`);
  return input as IncidentClassification;
}

/** Marks (or reclassifies) 1..MARK_MAX withdrawals for the incident; each is audited on its own. */
export async function markWithdrawals(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: { withdrawal_ids?: unknown; classification?: unknown; note?: unknown },
): Promise<{ incident_id: string; marked: number; reclassified: number }> {
  const acting = authorize(operator, 'incident.mark');
  const incidentId = parseIdField('id', incidentIdInput);
  if (
    !Array.isArray(input.withdrawal_ids) ||
    input.withdrawal_ids.length === 0 ||
    input.withdrawal_ids.length > MARK_MAX
  )
    throw invalidInput('withdrawal_ids', `must be a list of 1..${MARK_MAX} withdrawal ids`);
  const ids = [...new Set(input.withdrawal_ids.map((id, i) => parseIdField(`withdrawal_ids/${i}`, id)))];
  const classification = parseClassification(input.classification);
  const note = input.note === undefined ? null : parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    const accounts = await withdrawalAccounts(tx, ids);
    const missing = ids.findIndex((id) => !accounts.has(id));
    if (missing >= 0) throw invalidInput(`withdrawal_ids/${missing}`, `${ids[missing]} is not a withdrawal`);
    const now = context.clock.now().toISOString();
    let marked = 0;
    let reclassified = 0;
    for (const id of ids) {
      const before = await markIncidentWithdrawal(tx, {
        incident_id: incidentId,
        withdrawal_id: id,
        account_id: accounts.get(id) as string,
        classification,
        marked_by: actor,
        marked_at: now,
        note,
      });
      if (before === undefined) marked += 1;
      else reclassified += 1;
      await audit(tx, context, {
        actor,
        action: 'incident.withdrawal_marked',
        subject: `withdrawal:${id}`,
        data: { incident_id: incidentId, classification, previous: before ?? null, note },
      });
    }
    return { incident_id: incidentId, marked, reclassified };
  });
}

/**
 * Marks as unauthorized every withdrawal the monitor flagged since the incident opened (or since the alert it was
 * opened from, which the monitor raised with its first finding) and nobody marked yet (an
 * operator's mark is kept): at most MONITOR_MARK_MAX a call, from `starting_after` (the `cursor` of the answer
 * before); `has_more` says to call again.
 */
export async function markFromMonitorFindings(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: { starting_after?: unknown } = {},
): Promise<{
  incident_id: string;
  flagged: number;
  marked: number;
  cursor: string | null;
  has_more: boolean;
}> {
  const acting = authorize(operator, 'incident.mark');
  const incidentId = parseIdField('id', incidentIdInput);
  const startingAfter =
    input.starting_after === undefined ? undefined : parseIdField('starting_after', input.starting_after);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const incident = await incidentToActOn(context.database, tx, incidentId);
    // Since the alert the incident came from when there is one: the monitor flags (and halts) before anyone opens.
    const alert = incident.alert_id === null ? undefined : await findAlert(tx, incident.alert_id);
    const since =
      alert !== undefined && alert.opened_at < incident.opened_at ? alert.opened_at : incident.opened_at;
    const flagged = await flaggedWithdrawalsSince(tx, since, MONITOR_MARK_MAX + 1, startingAfter);
    const page = flagged.slice(0, MONITOR_MARK_MAX);
    const now = context.clock.now().toISOString();
    const marked = await markUnmarkedWithdrawals(
      tx,
      page.map((f) => ({
        incident_id: incidentId,
        withdrawal_id: f.withdrawal_id,
        account_id: f.account_id,
        classification: 'unauthorized' as const,
        marked_by: 'monitor',
        marked_at: now,
        note: `monitor finding: ${f.checks}`,
      })),
    );
    const checkOf = new Map(page.map((f) => [f.withdrawal_id, f.checks]));
    for (const id of marked)
      await audit(tx, context, {
        actor,
        action: 'incident.withdrawal_marked',
        subject: `withdrawal:${id}`,
        data: {
          incident_id: incidentId,
          classification: 'unauthorized',
          from: 'monitor',
          check: checkOf.get(id) ?? null,
        },
      });
    await incidentAudit(tx, context, {
      actor,
      action: 'incident.marked_from_monitor',
      incidentId,
      data: { flagged: page.length, marked: marked.length },
    });
    return {
      incident_id: incidentId,
      flagged: page.length,
      marked: marked.length,
      cursor: page.at(-1)?.withdrawal_id ?? null,
      has_more: flagged.length > MONITOR_MARK_MAX,
    };
  });
}

export function viewAffected(row: AffectedWithdrawalRow) {
  return {
    withdrawal_id: row.withdrawal_id,
    account_id: row.account_id,
    classification: row.classification,
    state: row.state,
    outcome: withdrawalOutcome(row.state as WithdrawalState),
    asset: row.asset,
    network: row.network,
    amount: row.amount,
    fee: row.fee,
    destination_address: row.destination_address,
    marked_by: row.marked_by,
    marked_at: row.marked_at,
    note: row.note,
  };
}

/** The incident's affected withdrawals with their derived outcome, by withdrawal id, a page at a time. */
export async function listAffectedWithdrawals(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
  query: { limit?: unknown; starting_after?: unknown; classification?: unknown; account_id?: unknown } = {},
) {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  const wanted = parsePage(query, AFFECTED_PAGE);
  const classification =
    query.classification === undefined ? undefined : parseClassification(query.classification);
  const accountId = query.account_id === undefined ? undefined : parseIdField('account_id', query.account_id);
  if ((await findIncident(context.database, incidentId)) === undefined) throw notFoundIncident(incidentId);
  const rows = await incidentWithdrawalsPage(
    context.database,
    incidentId,
    { classification, accountId },
    wanted.limit + 1,
    wanted.startingAfter,
  );
  const { items, hasMore } = pageOf(rows, wanted);
  return { withdrawals: items.map(viewAffected), has_more: hasMore };
}

/** The accounts the incident affected (not counting withdrawals marked legitimate), by account id, a page at a time. */
export async function listAffectedAccounts(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
  query: { limit?: unknown; starting_after?: unknown } = {},
) {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  const wanted = parsePage(query, AFFECTED_PAGE);
  if ((await findIncident(context.database, incidentId)) === undefined) throw notFoundIncident(incidentId);
  const rows = await affectedAccountsPage(
    context.database,
    incidentId,
    wanted.limit + 1,
    wanted.startingAfter,
  );
  const { items, hasMore } = pageOf(rows, wanted);
  return { accounts: items, has_more: hasMore };
}
