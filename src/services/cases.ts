import { DomainError, invalidInput } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { pageOf, parseIdField, parsePage } from '../core/list-query.ts';
import { findAlert } from '../store/alerts.ts';
import {
  appendCaseEvent,
  type CaseEventRow,
  type CaseRow,
  caseEvents,
  findCase,
  findCases,
  insertCase,
  isLinked,
  lockCase,
  touchCase,
  updateCaseStatus,
} from '../store/cases.ts';
import { isUniqueViolation } from '../store/review-approvals.ts';
import type { CaseStatus } from '../store/schema-review.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import { findWithdrawal } from '../store/withdrawals.ts';
import { parseNote } from './alerts.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { type Actor, actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';

/**
 * Cases: an investigation that groups alerts and withdrawals, with an append-only history of events (opened,
 * alert_linked, withdrawal_linked, note, status_changed). Status open -> investigating -> closed (a case may also
 * be closed straight from open); a closed case takes no more links, notes or changes. Every change is audited.
 */

export const CASE_STATUSES = ['open', 'investigating', 'closed'] as const;
export const CASE_PAGE = { default: 50, max: 200 };
const EVENTS_SHOWN = 1000;

/** Which status a case may move to from which. */
const NEXT: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = {
  open: ['investigating', 'closed'],
  investigating: ['closed'],
  closed: [],
};

function notFoundCase(id: string): DomainError {
  return new DomainError('NOT_FOUND', `case ${id} does not exist`, { field: 'id', details: { id } });
}

function closed(): DomainError {
  return new DomainError('WRONG_STATE', 'the case is closed', { details: { case_status: 'closed' } });
}

function parseTitle(input: unknown): string {
  if (typeof input !== 'string' || input.trim().length < 3 || input.length > 200 || input.includes('\0'))
    throw invalidInput('title', 'must be 3..200 characters');
  return input;
}

function viewEvent(row: CaseEventRow) {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    kind: row.kind,
    subject: row.subject,
    note: row.note,
    from_status: row.from_status,
    to_status: row.to_status,
  };
}

function viewCase(row: CaseRow, events: readonly CaseEventRow[]) {
  const linked = (prefix: string) =>
    events.filter((e) => e.subject?.startsWith(prefix)).map((e) => (e.subject ?? '').slice(prefix.length));
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    opened_by: row.opened_by,
    opened_at: row.opened_at,
    updated_at: row.updated_at,
    closed_by: row.closed_by,
    closed_at: row.closed_at,
    alert_ids: linked('alert:'),
    withdrawal_ids: linked('withdrawal:'),
    events: events.map(viewEvent),
  };
}

export type CaseView = ReturnType<typeof viewCase>;

async function caseView(on: Tx | ServiceContext['database'], id: string) {
  const row = await findCase(on, id);
  if (row === undefined) throw notFoundCase(id);
  return viewCase(row, await caseEvents(on, id, EVENTS_SHOWN));
}

async function event(
  tx: Tx,
  context: ServiceContext,
  caseId: string,
  actor: string,
  fields: Pick<CaseEventRow, 'kind'> &
    Partial<Pick<CaseEventRow, 'subject' | 'note' | 'from_status' | 'to_status'>>,
  at: string,
) {
  await appendCaseEvent(tx, {
    id: newId(),
    case_id: caseId,
    at,
    actor,
    kind: fields.kind,
    subject: fields.subject ?? null,
    note: fields.note ?? null,
    from_status: fields.from_status ?? null,
    to_status: fields.to_status ?? null,
  });
  await audit(tx, context, {
    actor,
    action: `case.${fields.kind}`,
    subject: `case:${caseId}`,
    data: {
      ...(fields.subject == null ? {} : { linked: fields.subject }),
      ...(fields.note == null ? {} : { note: fields.note }),
      ...(fields.to_status == null ? {} : { from: fields.from_status ?? null, to: fields.to_status }),
    },
  });
}

/** Opens a case with a title (3..200 characters) and, optionally, a first note. */
export async function openCase(
  context: ServiceContext,
  operator: Actor,
  input: { title?: unknown; note?: unknown },
) {
  const acting = authorize(operator, 'cases.manage');
  const title = parseTitle(input.title);
  const note = input.note === undefined ? undefined : parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const id = newId();
    const now = context.clock.now().toISOString();
    await insertCase(tx, {
      id,
      title,
      status: 'open',
      opened_by: actor,
      opened_at: now,
      updated_at: now,
      closed_by: null,
      closed_at: null,
    });
    await event(tx, context, id, actor, { kind: 'opened', note: note ?? null, to_status: 'open' }, now);
    return caseView(tx, id);
  });
}

export async function getCase(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'cases.read');
  return caseView(context.database, parseIdField('id', id));
}

export async function listCases(
  context: ServiceContext,
  actor: OperatorActor,
  query: { limit?: unknown; starting_after?: unknown; status?: unknown } = {},
) {
  authorize(actor, 'cases.read');
  const wanted = parsePage(query, CASE_PAGE);
  if (query.status !== undefined && !(CASE_STATUSES as readonly unknown[]).includes(query.status))
    throw invalidInput('status', `must be one of ${CASE_STATUSES.join(', ')}`);
  const rows = await findCases(
    context.database,
    query.status as CaseStatus | undefined,
    wanted.limit + 1,
    wanted.startingAfter,
  );
  const { items, hasMore } = pageOf(rows, wanted);
  return {
    cases: items.map((row) => {
      const { events: _events, alert_ids: _a, withdrawal_ids: _w, ...summary } = viewCase(row, []);
      return summary;
    }),
    has_more: hasMore,
  };
}

/** Links one alert or one withdrawal (exactly one of alert_id, withdrawal_id) to an open case, once. */
export async function linkToCase(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { alert_id?: unknown; withdrawal_id?: unknown },
) {
  const acting = authorize(operator, 'cases.manage');
  const caseId = parseIdField('id', id);
  if ((input.alert_id === undefined) === (input.withdrawal_id === undefined))
    throw invalidInput('alert_id', 'give exactly one of alert_id or withdrawal_id');
  const target =
    input.alert_id !== undefined
      ? { kind: 'alert_linked' as const, id: parseIdField('alert_id', input.alert_id), what: 'alert' }
      : {
          kind: 'withdrawal_linked' as const,
          id: parseIdField('withdrawal_id', input.withdrawal_id),
          what: 'withdrawal',
        };
  const field = target.what === 'alert' ? 'alert_id' : 'withdrawal_id';
  const subject = `${target.what}:${target.id}`;
  const actor = actorName(acting);
  try {
    return await inTransaction(context.database, async (tx) => {
      const row = await lockCase(context.database, tx, caseId);
      if (row === undefined) throw notFoundCase(caseId);
      if (row.status === 'closed') throw closed();
      const exists =
        target.what === 'alert'
          ? (await findAlert(tx, target.id)) !== undefined
          : (await findWithdrawal(tx, target.id)) !== undefined;
      if (!exists)
        throw new DomainError('NOT_FOUND', `${target.what} ${target.id} does not exist`, {
          field,
          details: { id: target.id },
        });
      if (await isLinked(tx, caseId, subject)) throw alreadyLinked(field, subject);
      const now = context.clock.now().toISOString();
      await event(tx, context, caseId, actor, { kind: target.kind, subject }, now);
      await touchCase(tx, caseId, now);
      return caseView(tx, caseId);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyLinked(field, subject);
    throw error;
  }
}

function alreadyLinked(field: string, subject: string): DomainError {
  return new DomainError('ALREADY_EXISTS', `${subject} is already linked to this case`, { field });
}

/** Adds a note (3..2000 characters) to a case that is not closed. */
export async function noteCase(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { note?: unknown },
) {
  const acting = authorize(operator, 'cases.manage');
  const caseId = parseIdField('id', id);
  const note = parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const row = await lockCase(context.database, tx, caseId);
    if (row === undefined) throw notFoundCase(caseId);
    if (row.status === 'closed') throw closed();
    const now = context.clock.now().toISOString();
    await event(tx, context, caseId, actor, { kind: 'note', note }, now);
    await touchCase(tx, caseId, now);
    return caseView(tx, caseId);
  });
}

/**
 * Moves a case on: open -> investigating, open or investigating -> closed; anything else (back to open, a closed
 * case, the same status again) is 409 WRONG_STATE. A note (3..2000 characters) may say why; closing needs one.
 */
export async function setCaseStatus(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { status?: unknown; note?: unknown },
) {
  const acting = authorize(operator, 'cases.manage');
  const caseId = parseIdField('id', id);
  if (input.status !== 'investigating' && input.status !== 'closed')
    throw invalidInput('status', 'must be investigating or closed');
  const to: CaseStatus = input.status;
  if (to === 'closed' && input.note === undefined)
    throw invalidInput('note', 'closing a case says how it ended (3..2000 characters)');
  const note = input.note === undefined ? undefined : parseNote(input.note);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const row = await lockCase(context.database, tx, caseId);
    if (row === undefined) throw notFoundCase(caseId);
    if (!NEXT[row.status].includes(to))
      throw new DomainError('WRONG_STATE', `a ${row.status} case cannot become ${to}`, {
        details: { case_status: row.status },
      });
    const now = context.clock.now().toISOString();
    const moved = await updateCaseStatus(tx, caseId, row.status, {
      status: to,
      updated_at: now,
      ...(to === 'closed' ? { closed_at: now, closed_by: actor } : {}),
    });
    if (!moved)
      throw new DomainError('WRONG_STATE', 'the case changed meanwhile', {
        details: { case_status: row.status },
      });
    await event(
      tx,
      context,
      caseId,
      actor,
      { kind: 'status_changed', from_status: row.status, to_status: to, note: note ?? null },
      now,
    );
    return caseView(tx, caseId);
  });
}

/** Closes a case, saying how it ended. */
export async function closeCase(
  context: ServiceContext,
  operator: Actor,
  id: unknown,
  input: { note?: unknown },
) {
  return setCaseStatus(context, operator, id, { status: 'closed', note: input.note });
}
