import { useState } from 'react';
import { api, call } from '../api.ts';
import { Link, navigate, type Route, useLocation } from '../router.tsx';
import { Actor, Field, ProblemNotice, StateBadge, useAction, useLoad, when } from '../ui.tsx';
import { ContainPanel, FreezeRevokePanel, HaltResumePanel, INCIDENT_POLL_MS } from './incident-actions.tsx';
import { LossesPanel, ReimbursementPanel, ReportPanel } from './incident-money.tsx';

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
  readonly alert_id: string | null;
  readonly opened_by: string;
  readonly opened_by_email?: string | null;
  readonly opened_at: string;
  readonly closed_at: string | null;
}

interface TimelineEntry {
  readonly at: string;
  readonly kind: string;
  readonly actor: string;
  readonly actor_email: string | null;
  readonly action: string;
  readonly subject: string;
  readonly key: string;
}

interface AffectedWithdrawal {
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly classification: string;
  readonly state: string;
  readonly outcome: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly marked_by: string;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

export const incidentRoutes: readonly Route[] = [
  { pattern: '/operator/incidents', nav: 'Incidents', title: 'Incidents', render: () => <IncidentsPage /> },
  {
    pattern: '/operator/incidents/:id',
    title: 'Incident',
    render: (p) => <IncidentPage id={p.id ?? ''} />,
  },
];

/** The incidents, newest first, and the form that opens one by hand or from an alert (`?alert=<id>`). */
function IncidentsPage() {
  const { query } = useLocation();
  const incidents = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/incidents', { params: { query: { limit: '50' } } }))) as {
        incidents: Incident[];
      },
    [],
    5000,
  );
  return (
    <main id="main" className="page wide">
      <h1>Incidents</h1>
      <OpenIncidentForm alertId={query.get('alert') ?? undefined} />
      <ProblemNotice problem={incidents.problem} />
      <table className="stack">
        <caption className="sr-only">Incidents, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Opened</th>
            <th scope="col">Title</th>
            <th scope="col">Severity</th>
            <th scope="col">Status</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {incidents.data?.incidents.map((i) => (
            <tr key={i.id}>
              <td data-label="Opened">{when(i.opened_at)}</td>
              <td data-label="Title">
                <Link to={`/operator/incidents/${i.id}`}>{i.title}</Link>
              </td>
              <td data-label="Severity">
                <span className={`badge sev-${i.severity}`}>{i.severity}</span>
              </td>
              <td data-label="Status">
                <StateBadge state={i.status} />
              </td>
              <td data-label="By">
                <Actor actor={i.opened_by} email={i.opened_by_email} />
              </td>
            </tr>
          ))}
          {incidents.data?.incidents.length === 0 && (
            <tr>
              <td colSpan={5}>No incident yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </main>
  );
}

function OpenIncidentForm({ alertId }: { alertId: string | undefined }) {
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState<string>('critical');
  const act = useAction();
  return (
    <section className="card" aria-labelledby="open-h">
      <h2 id="open-h">{alertId === undefined ? 'Open an incident' : 'Open an incident from the alert'}</h2>
      {alertId !== undefined && <p className="hint">From alert {alertId}.</p>}
      <ProblemNotice problem={act.problem} />
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void act.run(async () => {
            const opened = (await call(
              api.POST('/v1/operator/incidents', {
                body: {
                  title,
                  severity: severity as (typeof SEVERITIES)[number],
                  ...(alertId === undefined ? {} : { alert_id: alertId }),
                },
              }),
            )) as Incident;
            navigate(`/operator/incidents/${opened.id}`);
          });
        }}
      >
        <Field label="Title" hint="What is happening, in a line (3..200 characters).">
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              minLength={3}
              maxLength={200}
              required
              value={title}
              onChange={(e) => setTitle(e.target.value)}
            />
          )}
        </Field>
        <Field label="Severity">
          {(id) => (
            <select id={id} value={severity} onChange={(e) => setSeverity(e.target.value)}>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="danger" disabled={act.busy}>
          Open the incident
        </button>
      </form>
    </section>
  );
}

/** One incident: its status, the playbook's actions, what it affected, the money, the report and the timeline. */
function IncidentPage({ id }: { id: string }) {
  const incident = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/incidents/{id}', { params: { path: { id } } }))) as Incident,
    [id],
    5000,
  );
  const i = incident.data;
  return (
    <main id="main" className="page wide">
      <p>
        <Link to="/operator/incidents">All incidents</Link>
      </p>
      <h1>{i === undefined ? 'Incident' : i.title}</h1>
      <ProblemNotice problem={incident.problem} />
      {i !== undefined && (
        <>
          <p data-testid="incident-status">
            <span className={`badge sev-${i.severity}`}>{i.severity}</span> <StateBadge state={i.status} />{' '}
            <span className="hint">
              opened {when(i.opened_at)} by <Actor actor={i.opened_by} email={i.opened_by_email} />
              {i.alert_id === null ? '' : `, from alert ${i.alert_id}`}
            </span>
          </p>
          <StatusForm incident={i} onChanged={incident.reload} />
          <div className="grid">
            <HaltResumePanel incidentId={id} />
            <ContainPanel incidentId={id} />
            <FreezeRevokePanel incidentId={id} />
            <AffectedPanel incidentId={id} />
            <LossesPanel incidentId={id} />
            <ReimbursementPanel incidentId={id} />
            <ReportPanel incidentId={id} />
            <TimelinePanel incidentId={id} />
          </div>
        </>
      )}
    </main>
  );
}

const NEXT_STATUS: Record<string, readonly string[]> = {
  open: ['contained', 'resolved'],
  contained: ['resolved'],
  resolved: ['closed'],
};

function StatusForm({ incident, onChanged }: { incident: Incident; onChanged: () => void }) {
  const next = NEXT_STATUS[incident.status] ?? [];
  const [note, setNote] = useState('');
  const act = useAction();
  if (next.length === 0) return null;
  return (
    <form className="inline" onSubmit={(e) => e.preventDefault()}>
      <ProblemNotice problem={act.problem} />
      <Field label="Status note" hint="Needed to close; kept in the audit log.">
        {(fid, hint) => (
          <input
            id={fid}
            aria-describedby={hint}
            maxLength={2000}
            value={note}
            onChange={(e) => setNote(e.target.value)}
          />
        )}
      </Field>
      {next.map((status) => (
        <button
          key={status}
          type="button"
          disabled={act.busy}
          onClick={() =>
            void act.run(async () => {
              await call(
                api.POST('/v1/operator/incidents/{id}/status', {
                  params: { path: { id: incident.id } },
                  body: { status: status as 'contained', ...(note === '' ? {} : { note }) },
                }),
              );
              setNote('');
              onChanged();
            })
          }
        >
          Mark {status}
        </button>
      ))}
    </form>
  );
}

/** The withdrawals marked as affected with their outcome read from their state, and the accounts they belong to. */
function AffectedPanel({ incidentId }: { incidentId: string }) {
  const affected = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/withdrawals', {
          params: { path: { id: incidentId }, query: { limit: '100' } },
        }),
      )) as { withdrawals: AffectedWithdrawal[]; has_more: boolean },
    [incidentId],
    INCIDENT_POLL_MS * 2,
  );
  const accounts = new Set(affected.data?.withdrawals.map((w) => w.account_id));
  return (
    <section className="card span3" aria-labelledby="affected-h">
      <h2 id="affected-h">Affected withdrawals</h2>
      <ProblemNotice problem={affected.problem} />
      <p data-testid="affected-accounts">
        {accounts.size} account{accounts.size === 1 ? '' : 's'} affected
        {affected.data?.has_more ? ' (first 100 withdrawals shown)' : ''}.
      </p>
      <table className="stack">
        <caption className="sr-only">Withdrawals marked for this incident</caption>
        <thead>
          <tr>
            <th scope="col">Withdrawal</th>
            <th scope="col">Account</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col">Marked</th>
            <th scope="col">State</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {affected.data?.withdrawals.map((w) => (
            <tr key={w.withdrawal_id}>
              <td data-label="Withdrawal" className="address">
                {w.withdrawal_id}
              </td>
              <td data-label="Account" className="address">
                {w.account_id}
              </td>
              <td data-label="Amount" className="num">
                {w.amount} {w.asset}
              </td>
              <td data-label="Marked">{w.classification}</td>
              <td data-label="State">
                <StateBadge state={w.state} />
              </td>
              <td data-label="Outcome">
                <span className={`badge outcome-${w.outcome}`}>{w.outcome.replace('_', ' ')}</span>
              </td>
            </tr>
          ))}
          {affected.data?.withdrawals.length === 0 && (
            <tr>
              <td colSpan={6}>No withdrawal marked yet (mark them from the monitor's findings, above).</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** Alerts, halts and every audited action carrying the incident's id, oldest first; polled while open. */
function TimelinePanel({ incidentId }: { incidentId: string }) {
  const timeline = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/timeline', {
          params: { path: { id: incidentId }, query: { limit: '200' } },
        }),
      )) as { entries: TimelineEntry[]; has_more: boolean },
    [incidentId],
    INCIDENT_POLL_MS,
  );
  return (
    <section className="card span3" aria-labelledby="timeline-h" aria-live="polite">
      <h2 id="timeline-h">Timeline</h2>
      <ProblemNotice problem={timeline.problem} />
      <ol className="list" data-testid="incident-timeline">
        {timeline.data?.entries.map((e) => (
          <li key={e.key}>
            <span className="hint">{when(e.at)}</span> <strong>{e.action}</strong> {e.subject}{' '}
            <span className="hint">
              by <Actor actor={e.actor} email={e.actor_email} />
            </span>
          </li>
        ))}
      </ol>
      {timeline.data?.has_more && <p className="hint">The first 200 entries; the report has them all.</p>}
    </section>
  );
}
