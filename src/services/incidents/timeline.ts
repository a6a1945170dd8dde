import { invalidInput } from '../../core/errors.ts';
import { parseIdField } from '../../core/list-query.ts';
import { pageLimit } from '../../core/paging.ts';
import { incidentHalts } from '../../store/incident-halts.ts';
import { alertsForIncident, incidentAuditEntries } from '../../store/incident-timeline.ts';
import { findIncident } from '../../store/incidents.ts';
import type { ServiceContext } from '../context.ts';
import { authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { operatorEmails } from '../identity/operator-emails.ts';
import { notFoundIncident } from './incidents.ts';

/**
 * An incident's timeline, in time order: the alert it was opened from and the alerts raised while it was open,
 * its halts (set and lifted), and every audit entry tagged with its id (what each playbook action did, and who).
 * Paged: `limit` entries after `starting_after` (the `cursor` of the page before); `has_more` says another follows.
 */

export const TIMELINE_PAGE = { default: 200, max: 1000 };
/** An incident's halts read for its timeline (its freezes are in the audit entries, one per account). */
const TIMELINE_HALTS = 1000;

export interface TimelineEntry {
  readonly at: string;
  readonly kind: 'alert' | 'halt.set' | 'halt.lifted' | 'action';
  /** Who: an operator, the monitor, the system. */
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Unique within the timeline: its position is (at, key). */
  readonly key: string;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)~([A-Za-z0-9:._-]{1,120})$/;

function parseCursor(input: unknown): { at: string; key: string } | undefined {
  if (input === undefined) return undefined;
  const match = typeof input === 'string' ? CURSOR.exec(input) : null;
  if (match === null) throw invalidInput('starting_after', 'must be the cursor of the page before');
  return { at: match[1] as string, key: match[2] as string };
}

function after(entry: TimelineEntry, cursor: { at: string; key: string } | undefined): boolean {
  if (cursor === undefined) return true;
  return entry.at > cursor.at || (entry.at === cursor.at && entry.key > cursor.key);
}

export async function incidentTimeline(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
  query: { limit?: unknown; starting_after?: unknown } = {},
): Promise<{
  incident_id: string;
  entries: (TimelineEntry & { actor_email: string | null })[];
  cursor: string | null;
  has_more: boolean;
}> {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  const limit = pageLimit(query.limit, TIMELINE_PAGE);
  const cursor = parseCursor(query.starting_after);
  const db = context.database;
  const incident = await findIncident(db, incidentId);
  if (incident === undefined) throw notFoundIncident(incidentId);
  const from = cursor?.at ?? incident.opened_at;
  // Each source reads at most limit + 1 from the cursor's instant: whatever the merge keeps, the page is right.
  const read = limit + 1;
  const alerts = await alertsForIncident(db, incident.alert_id, from, incident.closed_at, read);
  const halts = await incidentHalts(db, incidentId, TIMELINE_HALTS);
  const audits = await incidentAuditEntries(db, incidentId, from, read);
  const entries: TimelineEntry[] = [
    ...alerts.map((a) => ({
      at: a.opened_at,
      kind: 'alert' as const,
      actor: 'system:alerts',
      action: a.kind,
      subject: `alert:${a.id}`,
      data: { severity: a.severity, title: a.title, about: a.subject },
      key: `alert:${a.id}`,
    })),
    // A halt's setting is in the audit entries (tagged); its lifting by a resume names the request, so each lift
    // is told here from the halt record.
    ...halts
      .filter((h) => h.scope !== 'account' && h.lifted_at !== null && h.lifted_by !== null)
      .map((h) => ({
        at: h.lifted_at as string,
        kind: 'halt.lifted' as const,
        actor: h.lifted_by as string,
        action: 'halt.lifted',
        subject: `halt:${h.id}`,
        data: { halt_id: h.id, scope: h.scope, asset: h.asset, reason: h.reason },
        key: `halt:${h.id}:lifted`,
      })),
    ...audits.map((e) => ({
      at: new Date(e.at).toISOString(),
      kind: e.action === 'halt.set' ? ('halt.set' as const) : ('action' as const),
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      data: JSON.parse(e.data) as Record<string, unknown>,
      key: `audit:${e.id}`,
    })),
  ]
    .filter((e) => after(e, cursor))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = entries.slice(0, limit);
  const last = page.at(-1);
  const emailOf = await operatorEmails(
    context,
    page.map((e) => e.actor),
  );
  return {
    incident_id: incidentId,
    entries: page.map((e) => ({ ...e, actor_email: emailOf(e.actor) })),
    cursor: last === undefined ? null : `${last.at}~${last.key}`,
    has_more: entries.length > limit || alerts.length > limit || audits.length > limit,
  };
}
