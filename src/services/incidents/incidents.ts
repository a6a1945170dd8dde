import type { JsonObject } from '../../core/audit-hash.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { pageOf, parseIdField, parsePage } from '../../core/list-query.ts';
import { findAlert } from '../../store/alerts.ts';
import type { Database } from '../../store/database.ts';
import {
  findIncident,
  findIncidents,
  type IncidentRow,
  insertIncident,
  lockIncident,
  updateIncidentStatus,
} from '../../store/incidents.ts';
import {
  INCIDENT_SEVERITIES,
  INCIDENT_STATUSES,
  type IncidentSeverity,
  type IncidentStatus,
} from '../../store/schema-incidents.ts';
import { inTransaction, type Queryable, type Tx } from '../../store/transaction.ts';
import { parseNote } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { type Actor, actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { operatorEmails } from '../identity/operator-emails.ts';
import { enqueueWebhookEvent } from '../webhook-events.ts';

/**
 * Incidents: an incident commander's record of one security event, opened by hand or from an alert. Status
 * open -> contained -> resolved -> closed (open may go straight to resolved; closed is final and needs a note).
 * Every playbook action on an incident is audited with `incident_id` in the entry's data (incidentAudit), which
 * is what the timeline gathers.
 */

export const INCIDENT_PAGE = { default: 50, max: 200 };

const NEXT: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  open: ['contained', 'resolved'],
  contained: ['resolved'],
  resolved: ['closed'],
  closed: [],
};

export function notFoundIncident(id: string, field = 'id'): DomainError {
  return new DomainError('NOT_FOUND', `incident ${id} does not exist`, { field, details: { id } });
}

function parseTitle(input: unknown): string {
  if (typeof input !== 'string' || input.trim().length < 3 || input.length > 200 || input.includes('\0'))
    throw invalidInput('title', 'must be 3..200 characters');
  return input;
}

function parseSeverity(input: unknown): IncidentSeverity {
  if (typeof input !== 'string' || !(INCIDENT_SEVERITIES as readonly string[]).includes(input))
    throw invalidInput('severity', `must be one of ${INCIDENT_SEVERITIES.join(', ')}`);
  return input as IncidentSeverity;
}

/**
 * Audits a playbook action on an incident in the caller's transaction, with `incident_id` in the data: the
 * convention every incident action follows (the timeline and the report read it back).
 */
export async function incidentAudit(
  tx: Tx,
  context: ServiceContext,
  entry: { actor: string; action: string; incidentId: string; subject?: string; data?: JsonObject },
): Promise<void> {
  await audit(tx, context, {
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject ?? `incident:${entry.incidentId}`,
    data: { ...(entry.data ?? {}), incident_id: entry.incidentId },
  });
}

/**
 * The incident to act on, locked for the transaction: unknown is 404 naming `field`, closed is 409. What every
 * playbook action calls first.
 */
export async function incidentToActOn(
  database: Database,
  tx: Tx,
  id: string,
  field = 'id',
): Promise<IncidentRow> {
  const row = await lockIncident(database, tx, id);
  if (row === undefined) throw notFoundIncident(id, field);
  if (row.status === 'closed')
    throw new DomainError('WRONG_STATE', 'the incident is closed', {
      details: { incident_status: 'closed' },
    });
  return row;
}

export function viewIncident(row: IncidentRow) {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity,
    status: row.status,
    alert_id: row.alert_id,
    opened_by: row.opened_by,
    opened_at: row.opened_at,
    updated_at: row.updated_at,
    closed_by: row.closed_by,
    closed_at: row.closed_at,
  };
}

export type IncidentView = ReturnType<typeof viewIncident>;

async function incidentView(on: Queryable, id: string): Promise<IncidentView> {
  const row = await findIncident(on, id);
  if (row === undefined) throw notFoundIncident(id);
  return viewIncident(row);
}

/**
 * Opens an incident with a title (3..200 characters) and a severity, by hand or from an alert (`alert_id`, which
 * must exist). Tells integrators (webhook `incident.opened`).
 */
export async function openIncident(
  context: ServiceContext,
  operator: Actor,
  input: { title?: unknown; severity?: unknown; alert_id?: unknown },
): Promise<IncidentView> {
  const acting = authorize(operator, 'incident.open');
  const title = parseTitle(input.title);
  const severity = parseSeverity(input.severity);
  const alertId = input.alert_id === undefined ? null : parseIdField('alert_id', input.alert_id);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    if (alertId !== null && (await findAlert(tx, alertId)) === undefined)
      throw new DomainError('NOT_FOUND', `alert ${alertId} does not exist`, {
        field: 'alert_id',
        details: { id: alertId },
      });
    const id = newId();
    const now = context.clock.now().toISOString();
    const row: IncidentRow = {
      id,
      title,
      severity,
      status: 'open',
      alert_id: alertId,
      opened_by: actor,
      opened_at: now,
      updated_at: now,
      closed_by: null,
      closed_at: null,
    };
    await insertIncident(tx, row);
    await incidentAudit(tx, context, {
      actor,
      action: 'incident.opened',
      incidentId: id,
      data: { title, severity, alert_id: alertId },
    });
    await enqueueWebhookEvent(tx, context, {
      event: 'incident.opened',
      accountId: null,
      payload: { incident_id: id, title, severity, alert_id: alertId },
    });
    return viewIncident(row);
  });
}

/** The incident, with the email of the operator who opened it (`opened_by_email`), for people. */
export async function getIncident(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'incident.read');
  const incident = await incidentView(context.database, parseIdField('id', id));
  const emailOf = await operatorEmails(context, [incident.opened_by]);
  return { ...incident, opened_by_email: emailOf(incident.opened_by) };
}

export async function listIncidents(
  context: ServiceContext,
  actor: OperatorActor,
  query: { limit?: unknown; starting_after?: unknown; status?: unknown } = {},
) {
  authorize(actor, 'incident.read');
  const wanted = parsePage(query, INCIDENT_PAGE);
  if (query.status !== undefined && !(INCIDENT_STATUSES as readonly unknown[]).includes(query.status))
    throw invalidInput('status', `must be one of ${INCIDENT_STATUSES.join(', ')}`);
  const rows = await findIncidents(
    context.database,
    query.status as IncidentStatus | undefined,
    wanted.limit + 1,
    wanted.startingAfter,
  );
  const { items, hasMore } = pageOf(rows, wanted);
  const emailOf = await operatorEmails(
    context,
    items.map((row) => row.opened_by),
  );
  return {
    incidents: items.map((row) => ({ ...viewIncident(row), opened_by_email: emailOf(row.opened_by) })),
    has_more: hasMore,
  };
}

/**
 * Moves an incident on (open -> contained | resolved, contained -> resolved, resolved -> closed); anything else is
 * 409 WRONG_STATE. A note (3..2000 characters) may say why; closing needs one.
 */
export async function setIncidentStatus(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { status?: unknown; note?: unknown },
): Promise<IncidentView> {
  const acting = authorize(operator, 'incident.manage');
  const incidentId = parseIdField('id', id);
  if (input.status !== 'contained' && input.status !== 'resolved' && input.status !== 'closed')
    throw invalidInput('status', 'must be contained, resolved or closed');
  const to: IncidentStatus = input.status;
  if (to === 'closed' && input.note === undefined)
    throw invalidInput('note', 'closing an incident says how it ended (3..2000 characters)');
  const note = input.note === undefined ? null : parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const row = await lockIncident(context.database, tx, incidentId);
    if (row === undefined) throw notFoundIncident(incidentId);
    if (!NEXT[row.status].includes(to))
      throw new DomainError('WRONG_STATE', `a ${row.status} incident cannot become ${to}`, {
        details: { incident_status: row.status },
      });
    const now = context.clock.now().toISOString();
    const moved = await updateIncidentStatus(tx, incidentId, row.status, {
      status: to,
      updated_at: now,
      ...(to === 'closed' ? { closed_at: now, closed_by: actor } : {}),
    });
    if (!moved)
      throw new DomainError('WRONG_STATE', 'the incident changed meanwhile', {
        details: { incident_status: row.status },
      });
    await incidentAudit(tx, context, {
      actor,
      action: 'incident.status_changed',
      incidentId,
      data: { from: row.status, to, note },
    });
    return incidentView(tx, incidentId);
  });
}
