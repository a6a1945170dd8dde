import type { JsonObject } from '../core/audit-hash.ts';
import { invalidInput } from '../core/errors.ts';
import { pageOf, parseInstant, parsePage } from '../core/list-query.ts';
import { searchAudit } from '../store/audit/index.ts';
import type { ServiceContext } from './context.ts';
import { authorize, type OperatorActor } from './identity/acting-operator.ts';
import { operatorEmails } from './identity/operator-emails.ts';

/** A search of the audit log's query string; anything malformed is a 400 naming it. */
export interface AuditQuery {
  readonly limit?: unknown;
  readonly starting_after?: unknown;
  readonly action?: unknown;
  readonly actor?: unknown;
  readonly subject?: unknown;
  readonly from?: unknown;
  readonly until?: unknown;
}

const AUDIT_PAGE = { default: 50, max: 500 };
const AUDIT_TEXT = /^[A-Za-z0-9_.:*@+-]{1,200}$/;

function auditText(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !AUDIT_TEXT.test(value)) {
    throw invalidInput(
      field,
      'must be 1..200 letters, digits or . _ : @ + - (an action, an actor or a subject)',
    );
  }
  return value;
}

/**
 * The sealed audit log for operators, newest first: by action (exact, or a family such as `withdrawal.*`), actor
 * (`operator:<id>`), subject (`withdrawal:<id>`) and time. Each entry with its chain hash, so what is shown can be
 * checked against `drawbridge audit verify`. An operator actor comes with its email (`actor_email`), for people.
 */
export async function searchAuditLog(context: ServiceContext, actor: OperatorActor, query: AuditQuery = {}) {
  authorize(actor, 'audit.read');
  const wanted = parsePage(query, AUDIT_PAGE);
  const action = auditText('action', query.action);
  if (action?.includes('*') && !/^[a-z_]+\.\*$/.test(action)) {
    throw invalidInput('action', 'a family is written like withdrawal.* (one * at the end, after a dot)');
  }
  const filter = {
    action,
    actor: auditText('actor', query.actor),
    subject: auditText('subject', query.subject),
    from: parseInstant('from', query.from),
    until: parseInstant('until', query.until),
  };
  const rows = await searchAudit(context.database, filter, wanted.limit + 1, wanted.startingAfter);
  if (rows === undefined) throw invalidInput('starting_after', 'is not the id of a sealed audit entry');
  const { items, hasMore } = pageOf(rows, wanted);
  const emailOf = await operatorEmails(
    context,
    items.map((row) => row.actor),
  );
  return {
    entries: items.map((row) => ({
      id: row.id,
      seq: row.seq,
      at: row.at,
      actor: row.actor,
      actor_email: emailOf(row.actor),
      action: row.action,
      subject: row.subject,
      data: JSON.parse(row.data) as JsonObject,
      hash: row.hash,
    })),
    has_more: hasMore,
  };
}
