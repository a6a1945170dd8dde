import { useState } from 'react';
import { api, call } from '../api.ts';
import { useSession } from '../session.tsx';
import { Actor, duration, Field, ProblemNotice, ReasonField, useAction, useLoad, when } from '../ui.tsx';
import { type Halt, haltOrigin } from './dashboard.tsx';

/** The pages are live while someone watches: the incident's panels poll at this pace. */
export const INCIDENT_POLL_MS = 2000;

interface ResumeRequest {
  readonly id: string;
  readonly requested_by: string;
  readonly requested_at: string;
  readonly reason: string;
  readonly halt_ids: readonly string[];
  readonly status: string;
  readonly approved_by: string | null;
  readonly approved_at: string | null;
  readonly requested_by_email?: string | null;
  readonly approved_by_email?: string | null;
}

interface Downtime {
  readonly halts: readonly {
    id: string;
    scope: string;
    asset: string | null;
    created_at: string;
    lifted_at: string | null;
    duration_ms: number;
  }[];
  readonly downtime_ms: number;
  readonly accounts_frozen: number;
  readonly resume_requests: readonly ResumeRequest[];
}

interface Containment {
  readonly id: string;
  readonly scope: string;
  readonly asset: string | null;
  readonly status: string;
  readonly cancelled: number;
  readonly batches: number;
  readonly started_at: string;
}

/** Whether the signed-in operator is the one who asked (`requested_by` is `operator:<id>`): a second one approves. */
export function useAskedByMe(): (requestedBy: string) => boolean {
  const { me } = useSession();
  return (requestedBy) => me !== undefined && me !== null && requestedBy === `operator:${me.id}`;
}

/**
 * The incident's halts (set now by one incident commander) and the two-person resume: one operator asks, another,
 * different one approves, and only then are the halts lifted (the API and the database refuse the same person).
 */
export function HaltResumePanel({ incidentId }: { incidentId: string }) {
  const mine = useAskedByMe();
  const downtime = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/downtime', { params: { path: { id: incidentId } } }),
      )) as Downtime,
    [incidentId],
    INCIDENT_POLL_MS,
  );
  // The monitor's halts belong to no incident; a resume request may name them (with this incident's own).
  const monitorHalts = useLoad(
    async () =>
      ((await call(api.GET('/v1/operator/halts', {}))) as { halts: Halt[] }).halts.filter(
        (h) => !haltOrigin(h).liftableAlone && (h.incident_id ?? null) === null,
      ),
    [],
    INCIDENT_POLL_MS * 2,
  );
  const [haltReason, setHaltReason] = useState('');
  const [resumeReason, setResumeReason] = useState('');
  const act = useAction();
  const active = downtime.data?.halts.filter((h) => h.lifted_at === null) ?? [];
  const monitors = monitorHalts.data ?? [];
  const pending = downtime.data?.resume_requests.filter((r) => r.status === 'pending') ?? [];
  return (
    <section
      className={`card span3 halt ${active.length > 0 ? 'halted' : ''}`}
      aria-labelledby="ih-h"
      aria-live="polite"
    >
      <h2 id="ih-h">
        {active.length > 0
          ? `Halted by this incident (${active.length})`
          : 'No halt of this incident in force'}
      </h2>
      <ProblemNotice problem={downtime.problem ?? act.problem} />
      {downtime.data !== undefined && (
        <p className="hint">
          Downtime so far {duration(downtime.data.downtime_ms)}; {downtime.data.accounts_frozen} account(s)
          frozen.
        </p>
      )}
      <ul className="list" data-testid="incident-halts">
        {downtime.data?.halts.map((h) => (
          <li key={h.id}>
            <strong>{h.scope}</strong>
            {h.asset === null ? '' : ` ${h.asset}`} since {when(h.created_at)}
            {h.lifted_at === null ? ' (in force)' : `, lifted ${when(h.lifted_at)}`}
          </li>
        ))}
      </ul>
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void act.run(async () => {
            await call(
              api.POST('/v1/operator/incidents/{id}/halts', {
                params: { path: { id: incidentId } },
                body: { scope: 'global', reason: haltReason },
              }),
            );
            setHaltReason('');
            downtime.reload();
          });
        }}
      >
        <ReasonField label="Why halt every withdrawal?" value={haltReason} onChange={setHaltReason} />
        <button type="submit" className="big-red" disabled={act.busy}>
          Halt all withdrawals for this incident
        </button>
      </form>
      <h3>Resume (two people)</h3>
      {downtime.data !== undefined &&
        active.length + monitors.length === 0 &&
        downtime.data.resume_requests.length === 0 && (
          <p className="hint">
            Nothing to resume. While a halt of this incident (or of the monitor) is in force, one operator
            asks for the resume here and a second, different operator approves it.
          </p>
        )}
      <ul className="list" data-testid="resume-requests">
        {downtime.data?.resume_requests.map((r) => (
          <li key={r.id}>
            Resume asked by <Actor actor={r.requested_by} email={r.requested_by_email} />{' '}
            {when(r.requested_at)}: {r.reason} <span className="hint">({r.halt_ids.length} halt(s))</span>{' '}
            {r.status === 'approved' ? (
              <strong>
                approved by <Actor actor={r.approved_by} email={r.approved_by_email} /> {when(r.approved_at)}
              </strong>
            ) : mine(r.requested_by) ? (
              <span className="hint">waiting for a second, different operator to approve</span>
            ) : (
              <button
                type="button"
                className="primary"
                disabled={act.busy}
                onClick={() =>
                  void act.run(async () => {
                    await call(
                      api.POST('/v1/operator/incidents/{id}/resume-requests/{request_id}/approve', {
                        params: { path: { id: incidentId, request_id: r.id } },
                      }),
                    );
                    downtime.reload();
                  })
                }
              >
                Approve the resume
              </button>
            )}
          </li>
        ))}
      </ul>
      {monitors.length > 0 && (
        <p className="notice" data-testid="monitor-halts">
          The monitor halted{' '}
          {monitors.map((h) => `${h.scope}${h.asset === null ? '' : ` ${h.asset}`}`).join(', ')}: a resume
          requested here lifts those halts too, once a second operator approves.
        </p>
      )}
      {active.length + monitors.length > 0 && pending.length === 0 && (
        <form
          className="inline"
          onSubmit={(event) => {
            event.preventDefault();
            void act.run(async () => {
              await call(
                api.POST('/v1/operator/incidents/{id}/resume-requests', {
                  params: { path: { id: incidentId } },
                  body:
                    monitors.length === 0
                      ? { reason: resumeReason }
                      : {
                          reason: resumeReason,
                          halt_ids: [...active.map((h) => h.id), ...monitors.map((h) => h.id)],
                        },
                }),
              );
              setResumeReason('');
              downtime.reload();
            });
          }}
        >
          <ReasonField label="Why is it safe to resume?" value={resumeReason} onChange={setResumeReason} />
          <button type="submit" disabled={act.busy}>
            Request the resume
          </button>
        </form>
      )}
    </section>
  );
}

/** Contain: cancel every withdrawal not released yet (all, or one asset), batch by batch, with its progress. */
export function ContainPanel({ incidentId }: { incidentId: string }) {
  const containments = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/containments', { params: { path: { id: incidentId } } }),
      )) as { containments: Containment[] },
    [incidentId],
    INCIDENT_POLL_MS,
  );
  const [asset, setAsset] = useState('');
  const [reason, setReason] = useState('');
  const act = useAction();
  return (
    <section className="card" aria-labelledby="contain-h" aria-live="polite">
      <h2 id="contain-h">Contain</h2>
      <ProblemNotice problem={containments.problem ?? act.problem} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void act.run(async () => {
            let progress = (await call(
              api.POST('/v1/operator/incidents/{id}/containments', {
                params: { path: { id: incidentId } },
                body: asset === '' ? { scope: 'all', reason } : { scope: 'asset', asset, reason },
              }),
            )) as Containment;
            // Each call runs batches for a few seconds; go on until done (bounded: a page left open stops it).
            for (let round = 0; progress.status === 'running' && round < 1000; round++) {
              containments.reload();
              progress = (await call(
                api.POST('/v1/operator/incidents/{id}/containments/{containment_id}/run', {
                  params: { path: { id: incidentId, containment_id: progress.id } },
                  body: {},
                }),
              )) as Containment;
            }
            setReason('');
            containments.reload();
          });
        }}
      >
        <Field label="Asset (empty: every asset)">
          {(id) => <input id={id} maxLength={16} value={asset} onChange={(e) => setAsset(e.target.value)} />}
        </Field>
        <ReasonField label="Why cancel what is in flight?" value={reason} onChange={setReason} />
        <button type="submit" className="danger" disabled={act.busy}>
          {act.busy ? 'Containing…' : 'Cancel every withdrawal not released'}
        </button>
      </form>
      <ul className="list" data-testid="containments">
        {containments.data?.containments.map((c) => (
          <li key={c.id}>
            {c.scope}
            {c.asset === null ? '' : ` ${c.asset}`}: <strong>{c.status}</strong>, {c.cancelled} cancelled in{' '}
            {c.batches} batch(es) <span className="hint">since {when(c.started_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Freeze the affected accounts, revoke sessions and second factors, mark what the monitor flagged. */
export function FreezeRevokePanel({ incidentId }: { incidentId: string }) {
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState<string | undefined>(undefined);
  const act = useAction();
  const path = { params: { path: { id: incidentId } } };
  const run = (action: () => Promise<string>) =>
    void act.run(async () => {
      setSaid(undefined);
      setSaid(await action());
    });
  return (
    <section className="card span2" aria-labelledby="fr-h">
      <h2 id="fr-h">Accounts and credentials</h2>
      <ProblemNotice problem={act.problem} />
      {said !== undefined && (
        <p className="notice" role="status">
          {said}
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={act.busy}
          onClick={() =>
            run(async () => {
              let marked = 0;
              let after: string | undefined;
              for (let page = 0; page < 100; page++) {
                const r = (await call(
                  api.POST('/v1/operator/incidents/{id}/withdrawals/mark-from-monitor', {
                    ...path,
                    body: after === undefined ? {} : { starting_after: after },
                  }),
                )) as { marked: number; cursor: string | null; has_more: boolean };
                marked += r.marked;
                if (!r.has_more || r.cursor === null) break;
                after = r.cursor;
              }
              return `${marked} withdrawal(s) flagged by the monitor marked unauthorized.`;
            })
          }
        >
          Mark the monitor's findings
        </button>
      </div>
      <ReasonField label="Why freeze the affected accounts?" value={reason} onChange={setReason} />
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={act.busy || reason.length < 3}
          onClick={() =>
            run(async () => {
              const r = (await call(
                api.POST('/v1/operator/incidents/{id}/freeze', { ...path, body: { affected: true, reason } }),
              )) as { frozen: number; already_frozen: number };
              return `${r.frozen} account(s) frozen, ${r.already_frozen} already were.`;
            })
          }
        >
          Freeze every affected account
        </button>
        <button
          type="button"
          className="danger"
          disabled={act.busy}
          onClick={() =>
            run(async () => {
              await call(
                api.POST('/v1/operator/incidents/{id}/revoke', { ...path, body: { sessions: true } }),
              );
              return 'Every customer session ended.';
            })
          }
        >
          End every customer session
        </button>
        <button
          type="button"
          className="danger"
          disabled={act.busy}
          onClick={() =>
            run(async () => {
              await call(api.POST('/v1/operator/incidents/{id}/revoke', { ...path, body: { mfa: true } }));
              return 'Every customer second factor revoked: customers re-enrol with the link emailed to them.';
            })
          }
        >
          Revoke every customer second factor
        </button>
      </div>
    </section>
  );
}
