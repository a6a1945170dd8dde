import type { JsonObject } from '../core/audit-hash.ts';
import { DomainError, invalidInput } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { pageOf, parseIdField, parsePage } from '../core/list-query.ts';
import type { RenderedEmail } from '../core/notifications/security-email.ts';
import {
  type AlertRow,
  findAlert,
  findAlerts,
  lockAlert,
  moveAlert,
  onCallOperators,
  upsertAlert,
} from '../store/alerts.ts';
import { emailOutboxRow, queueOutbox } from '../store/outbox.ts';
import type { AlertResolutionKind, AlertSeverity, AlertState } from '../store/schema-review.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { type Actor, actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';
import { enqueueWebhookEvent } from './webhook-events.ts';

/**
 * Alerts: what the monitor and other detectors found, for operators to acknowledge and resolve. An alert is
 * deduplicated by (kind, fingerprint) while it is not resolved: raising it again bumps its occurrences and
 * last_seen_at (the database's partial unique index makes a second unresolved row impossible). A newly created
 * critical alert pages on-call operators (incident commanders and admins): an `alert.raised` webhook event and an
 * email to each, in the raiser's transaction. The life cycle is open -> acknowledged -> resolved, the resolution
 * with a kind (true_positive, false_positive, duplicate, benign) and a note.
 */

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export const RESOLUTION_KINDS = ['true_positive', 'false_positive', 'duplicate', 'benign'] as const;
export const ALERT_PAGE = { default: 50, max: 200 };
export const NOTE_MAX = 2000;
const DETAILS_MAX_BYTES = 8 * 1024;
const KIND = /^[a-z][a-z0-9_.-]{0,63}$/;

export interface RaiseAlertInput {
  kind: string;
  severity: AlertSeverity;
  fingerprint: string;
  title: string;
  subject?: string;
  details?: Record<string, unknown>;
}

function text(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || value.includes('\0'))
    throw invalidInput(field, `must be 1..${max} characters`);
  return value;
}

function oneOf<const T extends readonly string[]>(field: string, value: unknown, choices: T): T[number] {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
    throw invalidInput(field, `must be one of ${choices.join(', ')}`);
  return value as T[number];
}

function parseKind(value: unknown): string {
  if (typeof value !== 'string' || !KIND.test(value))
    throw invalidInput('kind', 'must be 1..64 lowercase letters, digits or _ . - (starting with a letter)');
  return value;
}

function detailsJson(details: unknown): string {
  if (details === undefined) return '{}';
  if (typeof details !== 'object' || details === null || Array.isArray(details))
    throw invalidInput('details', 'must be a JSON object');
  let json: string;
  try {
    json = JSON.stringify(details);
  } catch {
    throw invalidInput('details', 'must be a JSON object');
  }
  if (Buffer.byteLength(json) > DETAILS_MAX_BYTES)
    throw invalidInput('details', `must be at most ${DETAILS_MAX_BYTES} bytes of JSON`);
  return json;
}

/**
 * Raises an alert inside the caller's transaction (the monitor calls it in its own): creates it, or bumps the
 * unresolved alert of the same kind and fingerprint. A newly created critical alert pages on-call operators in the
 * same transaction (webhook `alert.raised`, and an email to each incident commander and admin), and is audited.
 */
export async function raiseAlert(
  tx: Tx,
  context: ServiceContext,
  input: {
    kind: string;
    severity: 'info' | 'warning' | 'critical';
    fingerprint: string;
    title: string;
    subject?: string;
    details?: Record<string, unknown>;
  },
): Promise<{ id: string; created: boolean }> {
  const kind = parseKind(input.kind);
  const severity = oneOf('severity', input.severity, ALERT_SEVERITIES);
  const fingerprint = text('fingerprint', input.fingerprint, 200);
  const title = text('title', input.title, 200);
  const subject = input.subject === undefined ? null : text('subject', input.subject, 200);
  const details = detailsJson(input.details);
  const now = context.clock.now().toISOString();
  const raised = await upsertAlert(tx, {
    id: newId(),
    kind,
    severity,
    fingerprint,
    title,
    details,
    subject,
    state: 'open',
    resolution_kind: null,
    resolution_note: null,
    opened_at: now,
    last_seen_at: now,
    occurrences: 1,
    acknowledged_by: null,
    acknowledged_at: null,
    resolved_by: null,
    resolved_at: null,
  });
  if (!raised.created) return raised;
  await audit(tx, context, {
    actor: 'system:alerts',
    action: 'alert.raised',
    subject: `alert:${raised.id}`,
    data: { kind, severity, fingerprint, title, ...(subject === null ? {} : { about: subject }) },
  });
  if (severity === 'critical') await page(tx, context, { id: raised.id, kind, title, subject, at: now });
  return raised;
}

/** Pages on-call operators about a new critical alert: a webhook event and an email to each. */
async function page(
  tx: Tx,
  context: ServiceContext,
  alert: { id: string; kind: string; title: string; subject: string | null; at: string },
): Promise<void> {
  await enqueueWebhookEvent(tx, context, {
    event: 'alert.raised',
    accountId: null,
    payload: {
      alert_id: alert.id,
      kind: alert.kind,
      severity: 'critical',
      title: alert.title,
      subject: alert.subject,
      opened_at: alert.at,
    },
  });
  const operators = await onCallOperators(tx);
  const email = alertEmail(context, alert);
  await queueOutbox(
    tx,
    operators.map((operator) =>
      emailOutboxRow({
        recipient: operator.email,
        accountId: operator.id,
        event: 'alert.raised',
        security: true,
        email,
        payload: { event: 'alert.raised', alert_id: alert.id, operator_id: operator.id, at: alert.at },
        now: alert.at,
      }),
    ),
  );
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** The page an on-call operator gets: what, when, about what, and where to look. Operators have no lock link. */
function alertEmail(
  context: ServiceContext,
  alert: { id: string; kind: string; title: string; subject: string | null; at: string },
): RenderedEmail {
  const lines = [
    `Critical alert: ${alert.title}`,
    `Kind: ${alert.kind}`,
    `About: ${alert.subject ?? 'nothing named'}`,
    `Raised: ${alert.at}`,
    `Alert: ${alert.id}`,
    '',
    `See it with: drawbridge alerts show ${alert.id}`,
    `or GET ${context.settings.publicUrl}/v1/operator/alerts/${alert.id}`,
  ];
  return {
    subject: `[Drawbridge critical] ${alert.title}`.slice(0, 200),
    text: lines.join('\n'),
    html: `<!doctype html><html><body style="font-family:sans-serif">${lines
      .map((line) => `<p>${escapeHtml(line)}</p>`)
      .join('')}</body></html>`,
  };
}

/** The API shape of an alert. */
export function viewAlert(row: AlertRow) {
  let details: JsonObject = {};
  try {
    details = JSON.parse(row.details) as JsonObject;
  } catch {
    details = {};
  }
  return {
    id: row.id,
    kind: row.kind,
    severity: row.severity,
    fingerprint: row.fingerprint,
    title: row.title,
    details,
    subject: row.subject,
    state: row.state,
    resolution_kind: row.resolution_kind,
    resolution_note: row.resolution_note,
    opened_at: row.opened_at,
    last_seen_at: row.last_seen_at,
    occurrences: Number(row.occurrences),
    acknowledged_by: row.acknowledged_by,
    acknowledged_at: row.acknowledged_at,
    resolved_by: row.resolved_by,
    resolved_at: row.resolved_at,
  };
}

export type AlertView = ReturnType<typeof viewAlert>;

function notFoundAlert(id: string): DomainError {
  return new DomainError('NOT_FOUND', `alert ${id} does not exist`, { field: 'id', details: { id } });
}

function wrongAlertState(state: AlertState, wanted: string): DomainError {
  return new DomainError('WRONG_STATE', `the alert is ${state}; ${wanted}`, { details: { state } });
}

export interface AlertQuery {
  readonly limit?: unknown;
  readonly starting_after?: unknown;
  readonly state?: unknown;
  readonly kind?: unknown;
  readonly severity?: unknown;
}

/** Alerts, newest first, by state, kind and severity, a page at a time. */
export async function listAlerts(context: ServiceContext, actor: OperatorActor, query: AlertQuery = {}) {
  authorize(actor, 'alerts.read');
  const wanted = parsePage(query, ALERT_PAGE);
  const filter = {
    state: query.state === undefined ? undefined : oneOf('state', query.state, ALERT_STATES),
    kind: query.kind === undefined ? undefined : parseKind(query.kind),
    severity: query.severity === undefined ? undefined : oneOf('severity', query.severity, ALERT_SEVERITIES),
  };
  const rows = await findAlerts(context.database, filter, wanted.limit + 1, wanted.startingAfter);
  const { items, hasMore } = pageOf(rows, wanted);
  return { alerts: items.map(viewAlert), has_more: hasMore };
}

export async function getAlert(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'alerts.read');
  const wanted = parseIdField('id', id);
  const row = await findAlert(context.database, wanted);
  if (row === undefined) throw notFoundAlert(wanted);
  return viewAlert(row);
}

/** An operator takes an open alert on: open -> acknowledged, audited. */
export async function acknowledgeAlert(context: ServiceContext, operator: Actor, id: unknown) {
  const acting = authorize(operator, 'alerts.manage');
  const wanted = parseIdField('id', id);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const row = await lockAlert(context.database, tx, wanted);
    if (row === undefined) throw notFoundAlert(wanted);
    if (row.state !== 'open') throw wrongAlertState(row.state, 'only an open alert is acknowledged');
    const now = context.clock.now().toISOString();
    const changes = { state: 'acknowledged' as const, acknowledged_by: actor, acknowledged_at: now };
    if (!(await moveAlert(tx, wanted, 'open', changes)))
      throw wrongAlertState(row.state, 'it changed meanwhile');
    await audit(tx, context, { actor, action: 'alert.acknowledged', subject: `alert:${wanted}` });
    return viewAlert({ ...row, ...changes });
  });
}

/**
 * An operator resolves an acknowledged alert with a kind (true_positive, false_positive, duplicate, benign) and a
 * note (3..2000 characters): acknowledged -> resolved, audited. Raising its kind and fingerprint again afterwards
 * opens a new alert.
 */
export async function resolveAlert(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { kind?: unknown; note?: unknown },
) {
  const acting = authorize(operator, 'alerts.manage');
  const wanted = parseIdField('id', id);
  if (input.kind === undefined)
    throw invalidInput('kind', `is required: one of ${RESOLUTION_KINDS.join(', ')}`);
  const kind: AlertResolutionKind = oneOf('kind', input.kind, RESOLUTION_KINDS);
  const note = parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const row = await lockAlert(context.database, tx, wanted);
    if (row === undefined) throw notFoundAlert(wanted);
    if (row.state !== 'acknowledged')
      throw wrongAlertState(row.state, 'an alert is acknowledged before it is resolved');
    const now = context.clock.now().toISOString();
    const changes = {
      state: 'resolved' as const,
      resolution_kind: kind,
      resolution_note: note,
      resolved_by: actor,
      resolved_at: now,
    };
    if (!(await moveAlert(tx, wanted, 'acknowledged', changes)))
      throw wrongAlertState(row.state, 'it changed meanwhile');
    await audit(tx, context, {
      actor,
      action: 'alert.resolved',
      subject: `alert:${wanted}`,
      data: { kind, note },
    });
    return viewAlert({ ...row, ...changes });
  });
}

/** A note: 3..2000 characters, said by a person. */
export function parseNote(input: unknown, field = 'note'): string {
  if (typeof input !== 'string' || input.trim().length < 3 || input.length > NOTE_MAX || input.includes('\0'))
    throw invalidInput(field, `must be 3..${NOTE_MAX} characters`);
  return input;
}
