import { type ReactNode, useMemo, useState } from 'react';
import { api, call } from '../api.ts';
import type { Withdrawal } from '../customer/withdrawals.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { Actor, ProblemNotice, ReasonField, StateBadge, useAction, useLoad, when } from '../ui.tsx';
import { type TimeSeries, WithdrawalsChart } from './chart.tsx';

export interface Halt {
  readonly id: string;
  readonly scope: string;
  readonly asset: string | null;
  readonly network: string | null;
  readonly account_id: string | null;
  readonly reason: string;
  readonly created_by: string;
  readonly created_by_email?: string | null;
  readonly created_at: string;
  readonly incident_id?: string | null;
}

/**
 * Who placed a halt, for people, and whether one operator may lift it: only a halt set by hand outside any incident
 * (the API answers 409 for the rest, which the two-person resume of an incident lifts).
 */
export function haltOrigin(h: Halt): { by: ReactNode; liftableAlone: boolean } {
  if (h.created_by.startsWith('system:'))
    return { by: `the monitor (${h.created_by})`, liftableAlone: false };
  const who = <Actor actor={h.created_by} email={h.created_by_email} />;
  if ((h.incident_id ?? null) !== null) return { by: <>{who} for an incident</>, liftableAlone: false };
  return { by: who, liftableAlone: true };
}

interface Alert {
  readonly id: string;
  readonly kind: string;
  readonly severity: string;
  readonly state: string;
  readonly title: string;
  readonly subject: string | null;
  readonly opened_at: string;
  readonly occurrences: number;
}

const HOURS = 24;
/** The dashboard reads at most this many withdrawals of the last day (5 pages); past it the counts say "at least". */
const MAX_PAGES = 5;

async function lastDayWithdrawals(nowMs: number) {
  const from = new Date(nowMs - HOURS * 3600_000).toISOString();
  const found: Withdrawal[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { withdrawals, has_more } = (await call(
      api.GET('/v1/operator/withdrawals', {
        params: {
          query: {
            limit: '200',
            created_from: from,
            ...(after === undefined ? {} : { starting_after: after }),
          },
        },
      }),
    )) as { withdrawals: Withdrawal[]; has_more: boolean };
    found.push(...withdrawals);
    if (!has_more) return { withdrawals: found, complete: true };
    after = withdrawals.at(-1)?.id;
  }
  return { withdrawals: found, complete: false };
}

function perHourPerAsset(withdrawals: readonly Withdrawal[], nowMs: number): TimeSeries {
  const end = Math.floor(nowMs / 3600_000) * 3600;
  const times = Array.from({ length: HOURS }, (_, i) => end - (HOURS - 1 - i) * 3600);
  const assets = [...new Set(withdrawals.map((w) => w.asset))].sort();
  const series = assets.map((asset) => {
    const values = times.map(() => 0);
    for (const w of withdrawals) {
      if (w.asset !== asset) continue;
      const index =
        HOURS - 1 - Math.floor((end - Math.floor(new Date(w.created_at).getTime() / 3600_000) * 3600) / 3600);
      if (index >= 0 && index < HOURS) values[index] = (values[index] ?? 0) + 1;
    }
    return { label: asset, values };
  });
  return { times, series };
}

export function DashboardPage() {
  const { skewMs } = useSession();
  const recent = useLoad(() => lastDayWithdrawals(Date.now() + skewMs), [skewMs], 10_000);
  const chart = useMemo(
    () =>
      recent.data === undefined ? undefined : perHourPerAsset(recent.data.withdrawals, Date.now() + skewMs),
    [recent.data, skewMs],
  );
  const counts = useMemo(() => {
    const byState = new Map<string, number>();
    for (const w of recent.data?.withdrawals ?? []) byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
    return [...byState.entries()].sort();
  }, [recent.data]);
  return (
    <main id="main" className="page wide">
      <h1>Dashboard</h1>
      <HaltPanel />
      <div className="grid">
        <section className="card span2" aria-labelledby="chart-h">
          <h2 id="chart-h">Withdrawals in the last 24 h, per asset</h2>
          <ProblemNotice problem={recent.problem} />
          {chart !== undefined && chart.series.length > 0 && (
            <WithdrawalsChart data={chart} label="Withdrawals per hour per asset over the last 24 hours" />
          )}
          {chart !== undefined && chart.series.length === 0 && <p>No withdrawal in the last 24 hours.</p>}
        </section>
        <section className="card" aria-labelledby="counts-h">
          <h2 id="counts-h">By state (24 h)</h2>
          <table>
            <tbody>
              {counts.map(([state, n]) => (
                <tr key={state}>
                  <th scope="row">
                    <StateBadge state={state} />
                  </th>
                  <td className="num" data-state-count={state}>
                    {recent.data?.complete === false ? `${n}+` : n}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <Link to="/operator/review">Open the review queue</Link>
          </p>
        </section>
        <DepositsPanel />
        <AlertsPanel />
      </div>
    </main>
  );
}

/** Halt status and the big red button; lifting is for an incident commander or admin. */
function HaltPanel() {
  const { me } = useSession();
  const halts = useLoad(
    async () => (await call(api.GET('/v1/operator/halts', {}))) as { halts: Halt[] },
    [],
    2000,
  );
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const act = useAction();
  const active = halts.data?.halts ?? [];
  const global = active.find((h) => h.scope === 'global');
  const mayLift = me?.role === 'incident_commander' || me?.role === 'admin';
  return (
    <section
      className={`card halt ${global === undefined ? '' : 'halted'}`}
      aria-labelledby="halt-h"
      aria-live="polite"
    >
      <h2 id="halt-h">{global === undefined ? 'Withdrawals are flowing' : 'ALL WITHDRAWALS ARE HALTED'}</h2>
      <ProblemNotice problem={halts.problem ?? act.problem} />
      {active.length > 0 && (
        <ul className="list" data-testid="active-halts">
          {active.map((h) => {
            const origin = haltOrigin(h);
            return (
              <li key={h.id}>
                <strong>{h.scope}</strong>
                {h.asset === null ? '' : ` ${h.asset}`}
                {h.network === null ? '' : `/${h.network}`}
                {h.account_id === null ? '' : ` account ${h.account_id}`}: {h.reason}{' '}
                <span className="hint">
                  since {when(h.created_at)} by {origin.by}
                </span>{' '}
                {!origin.liftableAlone && (
                  <Link
                    to={
                      (h.incident_id ?? null) === null
                        ? '/operator/incidents'
                        : `/operator/incidents/${h.incident_id}`
                    }
                  >
                    {(h.incident_id ?? null) === null
                      ? 'Lifted by two people: open an incident to resume'
                      : "Lifted by two people: the incident's resume"}
                  </Link>
                )}
                {mayLift && origin.liftableAlone && (
                  <button
                    type="button"
                    disabled={act.busy}
                    onClick={() =>
                      void act.run(async () => {
                        await call(api.DELETE('/v1/operator/halts/{id}', { params: { path: { id: h.id } } }));
                        halts.reload();
                      })
                    }
                  >
                    Lift this halt
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {!asking ? (
        <button type="button" className="big-red" onClick={() => setAsking(true)}>
          Halt all withdrawals
        </button>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void act.run(async () => {
              await call(api.POST('/v1/operator/halts', { body: { scope: 'global', reason } }));
              setAsking(false);
              setReason('');
              halts.reload();
            });
          }}
        >
          <ReasonField
            label="Why halt everything?"
            hint="Recorded in the audit log and shown to every operator."
            value={reason}
            onChange={setReason}
          />
          <div className="actions">
            <button type="submit" className="big-red" disabled={act.busy}>
              Halt now
            </button>
            <button type="button" onClick={() => setAsking(false)}>
              Back
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function AlertsPanel() {
  const alerts = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/alerts', { params: { query: { state: 'open', limit: '20' } } }))) as {
        alerts: Alert[];
      },
    [],
    3000,
  );
  return (
    <section className="card span3" aria-labelledby="alerts-h" aria-live="polite">
      <h2 id="alerts-h">Open alerts</h2>
      <ProblemNotice problem={alerts.problem} />
      <ul className="list">
        {alerts.data?.alerts.map((a) => (
          <li key={a.id} className={`alert sev-${a.severity}`}>
            <span className={`badge sev-${a.severity}`}>{a.severity}</span> <strong>{a.kind}</strong>{' '}
            {a.title} {a.subject === null ? '' : `(${a.subject})`}{' '}
            <span className="hint">
              {when(a.opened_at)}, seen {a.occurrences}×
            </span>{' '}
            <Link to={`/operator/incidents?alert=${a.id}`}>Open an incident</Link>
          </li>
        ))}
        {alerts.data?.alerts.length === 0 && <li>No open alert.</li>}
      </ul>
    </section>
  );
}

interface PendingDeposit {
  readonly id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  readonly txid: string;
  readonly output_index: number;
  readonly amount: string;
  readonly recorded_by: string | null;
  readonly recorded_by_email?: string | null;
  readonly recorded_at: string | null;
}

/**
 * Deposits entered by hand and awaiting a second operator: an incident commander or admin other than the recorder
 * approves (only then is it credited) or rejects a wrong entry, with a reason.
 */
function DepositsPanel() {
  const { me } = useSession();
  const pending = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/deposits', { params: { query: { limit: '20' } } }))) as {
        deposits: PendingDeposit[];
        more: boolean;
      },
    [],
    5000,
  );
  const [rejecting, setRejecting] = useState<string | undefined>(undefined);
  const [reason, setReason] = useState('');
  const act = useAction();
  const mayDecide = me?.role === 'incident_commander' || me?.role === 'admin';
  const deposits = pending.data?.deposits ?? [];
  return (
    <section className="card span3" aria-labelledby="deposits-h" aria-live="polite">
      <h2 id="deposits-h">Deposits awaiting a second operator</h2>
      <ProblemNotice problem={pending.problem ?? act.problem} />
      <ul className="list" data-testid="pending-deposits">
        {deposits.map((d) => {
          const own = d.recorded_by === me?.id;
          return (
            <li key={d.id}>
              <strong>
                {d.amount} {d.asset}
              </strong>{' '}
              on {d.network} to customer <span className="id">{d.account_id}</span>{' '}
              <span className="hint">
                output{' '}
                <span className="address">
                  {d.txid}:{d.output_index}
                </span>
                , recorded {d.recorded_at === null ? '' : when(d.recorded_at)} by{' '}
                <Actor
                  actor={d.recorded_by === null ? null : `operator:${d.recorded_by}`}
                  email={d.recorded_by_email}
                />
              </span>{' '}
              {mayDecide && own && (
                <span className="hint">You recorded it: another operator approves it.</span>
              )}
              {mayDecide && !own && rejecting !== d.id && (
                <button
                  type="button"
                  disabled={act.busy}
                  onClick={() =>
                    void act.run(async () => {
                      await call(
                        api.POST('/v1/operator/deposits/{id}/approve', {
                          params: { path: { id: d.id } },
                          body: {},
                        }),
                      );
                      pending.reload();
                    })
                  }
                >
                  Approve and credit {d.amount} {d.asset}
                </button>
              )}{' '}
              {mayDecide && rejecting !== d.id && (
                <button type="button" className="danger" onClick={() => setRejecting(d.id)}>
                  Reject
                </button>
              )}
              {rejecting === d.id && (
                <form
                  onSubmit={(event) => {
                    event.preventDefault();
                    void act.run(async () => {
                      await call(
                        api.POST('/v1/operator/deposits/{id}/reject', {
                          params: { path: { id: d.id } },
                          body: { reason },
                        }),
                      );
                      setRejecting(undefined);
                      setReason('');
                      pending.reload();
                    });
                  }}
                >
                  <ReasonField
                    label="Why reject it?"
                    hint="It is never credited; the chain output may then be recorded again."
                    value={reason}
                    onChange={setReason}
                  />
                  <div className="actions">
                    <button type="submit" className="danger" disabled={act.busy}>
                      Reject this deposit
                    </button>
                    <button type="button" onClick={() => setRejecting(undefined)}>
                      Back
                    </button>
                  </div>
                </form>
              )}
            </li>
          );
        })}
        {pending.data !== undefined && deposits.length === 0 && <li>No deposit awaits approval.</li>}
      </ul>
      {pending.data?.more === true && (
        <p className="hint">More are waiting: `drawbridge deposit list` shows them all.</p>
      )}
    </section>
  );
}
