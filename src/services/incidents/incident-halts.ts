import { findAlert } from '../../store/alerts.ts';
import type { HaltRow } from '../../store/halts.ts';
import { firstAffectedRequest, incidentHalts, monitorHaltsBetween } from '../../store/incident-halts.ts';
import type { IncidentRow } from '../../store/incidents.ts';
import type { Queryable } from '../../store/transaction.ts';

/**
 * Which halts are an incident's, for its downtime and its report (one rule for both): every halt carrying its id
 * (its own halts and account freezes), and the monitor's global or asset halts set inside its window. The monitor
 * halts on its first finding, before anyone opens an incident, and an incident commander counts that halt as the
 * incident's: it is when withdrawals stopped, and lifting it is the incident's two-person resume. A halt set by hand
 * outside the incident is not counted: it was someone's precaution, not this incident's response.
 *
 * The window runs from the earliest of the opening, the opening of the alert it came from and the request of its
 * first affected withdrawal, to its close (or `now`).
 */
export async function incidentWindow(
  on: Queryable,
  incident: IncidentRow,
  now: string,
): Promise<{ from: string; until: string }> {
  const alert = incident.alert_id === null ? undefined : await findAlert(on, incident.alert_id);
  const first = await firstAffectedRequest(on, incident.id);
  const starts = [incident.opened_at, alert?.opened_at, first].filter(
    (at): at is string => typeof at === 'string',
  );
  return { from: starts.sort()[0] ?? incident.opened_at, until: incident.closed_at ?? now };
}

/** The incident's halts (see above), oldest first, at most `limit` of each kind (read limit + 1 to see a cut). */
export async function haltsOfIncident(
  on: Queryable,
  incident: IncidentRow,
  now: string,
  limit: number,
): Promise<HaltRow[]> {
  const { from, until } = await incidentWindow(on, incident, now);
  const own = await incidentHalts(on, incident.id, limit);
  const monitors = await monitorHaltsBetween(on, from, until, limit);
  return [...own, ...monitors].sort((a, b) =>
    a.created_at !== b.created_at
      ? a.created_at < b.created_at
        ? -1
        : 1
      : a.id < b.id
        ? -1
        : a.id > b.id
          ? 1
          : 0,
  );
}
