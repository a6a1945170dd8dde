import { useState } from 'react';
import { ApiFailure, api, call } from '../api.ts';
import { duration, ProblemNotice, ReasonField, StateBadge, useAction, useLoad, when } from '../ui.tsx';
import { INCIDENT_POLL_MS, useAskedByMe } from './incident-actions.tsx';

interface Usd {
  readonly usd: string;
}
interface Bucket extends Usd {
  readonly count: number;
  readonly total: string;
}
interface Losses {
  readonly assets: readonly {
    asset: string;
    prevented: Bucket;
    lost: Bucket;
    in_doubt: Bucket;
    all: Bucket;
    reimbursable: { count: number; total: string };
  }[];
  readonly usd: { prevented: Usd; lost: Usd; in_doubt: Usd; all: Usd };
  readonly accounts_affected: number;
  readonly share_prevented_usd_percent: string | null;
  readonly unpriced: readonly string[];
}

interface ReimbursementRequest {
  readonly id: string;
  readonly status: string;
  readonly reason: string;
  readonly requested_by: string;
  readonly approved_by: string | null;
  readonly withdrawals: number;
  readonly paid: number;
  readonly remaining: number;
  readonly totals: readonly { asset: string; total: string }[];
}

interface Reimbursements {
  readonly requests: readonly ReimbursementRequest[];
  readonly assets: readonly {
    asset: string;
    reimbursable: string;
    requested: string;
    paid: string;
    outstanding: string;
    reconciled: boolean;
  }[];
  readonly reconciled: boolean;
  readonly outstanding_withdrawals: number;
}

/** A reimbursement batch the treasury cannot cover is said as such, not as a customer's balance. */
function treasuryShort(error: unknown): never {
  if (error instanceof ApiFailure && error.problem.code === 'INSUFFICIENT_FUNDS')
    throw new ApiFailure({ ...error.problem, code: 'TREASURY_INSUFFICIENT' });
  throw error;
}

/** Prevented, lost and in doubt, per asset and in USD (at the price of each withdrawal's confirmation). */
export function LossesPanel({ incidentId }: { incidentId: string }) {
  const losses = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/losses', { params: { path: { id: incidentId } } }),
      )) as unknown as Losses,
    [incidentId],
    INCIDENT_POLL_MS * 2,
  );
  const l = losses.data;
  return (
    <section className="card span3" aria-labelledby="losses-h">
      <h2 id="losses-h">Losses</h2>
      <ProblemNotice problem={losses.problem} />
      {l !== undefined && (
        <>
          <table className="stack" data-testid="losses">
            <caption className="sr-only">Losses per asset</caption>
            <thead>
              <tr>
                <th scope="col">Asset</th>
                <th scope="col" className="num">
                  Prevented
                </th>
                <th scope="col" className="num">
                  Lost
                </th>
                <th scope="col" className="num">
                  In doubt
                </th>
                <th scope="col" className="num">
                  Reimbursable
                </th>
              </tr>
            </thead>
            <tbody>
              {l.assets.map((a) => (
                <tr key={a.asset}>
                  <th scope="row">{a.asset}</th>
                  {(
                    [
                      ['Prevented', a.prevented],
                      ['Lost', a.lost],
                      ['In doubt', a.in_doubt],
                    ] as const
                  ).map(([label, b]) => (
                    <td key={label} data-label={label} className="num">
                      {b.total} ({b.count}) <span className="hint">{b.usd} USD</span>
                    </td>
                  ))}
                  <td data-label="Reimbursable" className="num">
                    {a.reimbursable.total} ({a.reimbursable.count})
                  </td>
                </tr>
              ))}
              <tr>
                <th scope="row">USD</th>
                <td data-label="Prevented" className="num">
                  {l.usd.prevented.usd}
                </td>
                <td data-label="Lost" className="num">
                  {l.usd.lost.usd}
                </td>
                <td data-label="In doubt" className="num">
                  {l.usd.in_doubt.usd}
                </td>
                <td />
              </tr>
            </tbody>
          </table>
          <p className="hint">
            {l.accounts_affected} account(s) affected; {l.share_prevented_usd_percent ?? '—'} % of the USD
            value prevented
            {l.unpriced.length > 0 ? `; ${l.unpriced.length} withdrawal(s) without a price` : ''}.
          </p>
        </>
      )}
    </section>
  );
}

/**
 * Reimbursement of what was lost: one operator requests, a second, different one approves, then it is paid batch by
 * batch from the treasury (each batch one transaction) with its progress.
 */
export function ReimbursementPanel({ incidentId }: { incidentId: string }) {
  const mine = useAskedByMe();
  const status = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/incidents/{id}/reimbursements', { params: { path: { id: incidentId } } }),
      )) as unknown as Reimbursements,
    [incidentId],
    INCIDENT_POLL_MS * 2,
  );
  const [reason, setReason] = useState('');
  const act = useAction();
  const path = (id: string) => ({ params: { path: { id: incidentId, reimbursement_id: id } } });
  const s = status.data;
  return (
    <section className="card span3" aria-labelledby="reimb-h" aria-live="polite">
      <h2 id="reimb-h">Reimbursement</h2>
      <ProblemNotice problem={status.problem ?? act.problem} />
      {s !== undefined && (
        <>
          <table className="stack">
            <caption className="sr-only">Reimbursement per asset</caption>
            <thead>
              <tr>
                <th scope="col">Asset</th>
                <th scope="col" className="num">
                  Reimbursable
                </th>
                <th scope="col" className="num">
                  Requested
                </th>
                <th scope="col" className="num">
                  Paid
                </th>
                <th scope="col" className="num">
                  Outstanding
                </th>
                <th scope="col">Reconciled</th>
              </tr>
            </thead>
            <tbody>
              {s.assets.map((a) => (
                <tr key={a.asset}>
                  <th scope="row">{a.asset}</th>
                  <td data-label="Reimbursable" className="num">
                    {a.reimbursable}
                  </td>
                  <td data-label="Requested" className="num">
                    {a.requested}
                  </td>
                  <td data-label="Paid" className="num">
                    {a.paid}
                  </td>
                  <td data-label="Outstanding" className="num">
                    {a.outstanding}
                  </td>
                  <td data-label="Reconciled">{a.reconciled ? 'yes' : 'NO'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ul className="list">
            {s.requests.map((r) => (
              <li key={r.id}>
                <StateBadge state={r.status} /> {r.withdrawals} withdrawal(s),{' '}
                {r.totals.map((t) => `${t.total} ${t.asset}`).join(', ')}: {r.reason}{' '}
                <span className="hint">
                  asked by {r.requested_by}
                  {r.approved_by === null ? '' : `, approved by ${r.approved_by}`}; paid {r.paid} of{' '}
                  {r.withdrawals}
                </span>{' '}
                {r.approved_by === null && !mine(r.requested_by) && (
                  <button
                    type="button"
                    disabled={act.busy}
                    onClick={() =>
                      void act.run(async () => {
                        await call(
                          api.POST(
                            '/v1/operator/incidents/{id}/reimbursements/{reimbursement_id}/approve',
                            path(r.id),
                          ),
                        );
                        status.reload();
                      })
                    }
                  >
                    Approve
                  </button>
                )}
                {r.approved_by !== null && r.remaining > 0 && (
                  <button
                    type="button"
                    className="primary"
                    disabled={act.busy}
                    onClick={() =>
                      void act.run(async () => {
                        // Batch by batch, the progress shown after each (bounded by the request's size).
                        for (let round = 0; round < 1000; round++) {
                          const p = (await call(
                            api.POST(
                              '/v1/operator/incidents/{id}/reimbursements/{reimbursement_id}/execute',
                              {
                                ...path(r.id),
                                body: { batch_size: 100 },
                              },
                            ),
                          ).catch(treasuryShort)) as { remaining: number };
                          status.reload();
                          if (p.remaining === 0) break;
                        }
                      })
                    }
                  >
                    {act.busy ? 'Paying…' : `Pay ${r.remaining} remaining`}
                  </button>
                )}
              </li>
            ))}
          </ul>
          {s.outstanding_withdrawals > 0 && (
            <form
              className="inline"
              onSubmit={(event) => {
                event.preventDefault();
                void act.run(async () => {
                  await call(
                    api.POST('/v1/operator/incidents/{id}/reimbursements', {
                      params: { path: { id: incidentId } },
                      body: { reason },
                    }),
                  );
                  setReason('');
                  status.reload();
                });
              }}
            >
              <ReasonField label="Why reimburse?" value={reason} onChange={setReason} />
              <button type="submit" disabled={act.busy}>
                Request reimbursement of {s.outstanding_withdrawals} withdrawal(s)
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}

interface Report {
  readonly generated_at: string;
  readonly summary: Record<string, unknown>;
  readonly open_items: Record<string, unknown>;
}

/** The report's summary as the console shows it (from the JSON report), and the report to download. */
export function ReportPanel({ incidentId }: { incidentId: string }) {
  const [shown, setShown] = useState(false);
  const report = useLoad(
    async () =>
      shown
        ? ((await call(
            api.GET('/v1/operator/incidents/{id}/report', {
              params: { path: { id: incidentId }, query: { format: 'json' } },
            }),
          )) as unknown as Report)
        : undefined,
    [incidentId, shown],
  );
  const href = (format: string) => `/v1/operator/incidents/${incidentId}/report?format=${format}`;
  return (
    <section className="card span3" aria-labelledby="report-h">
      <h2 id="report-h">Report</h2>
      <ProblemNotice problem={report.problem} />
      <div className="actions">
        <button type="button" onClick={() => (shown ? report.reload() : setShown(true))}>
          {shown ? 'Refresh the report' : 'Show the report'}
        </button>
        <a className="button" href={href('html')} download={`incident-${incidentId}.html`}>
          Download HTML
        </a>
        <a className="button" href={href('md')} download={`incident-${incidentId}.md`}>
          Download Markdown
        </a>
        <a className="button" href={href('json')} download={`incident-${incidentId}.json`}>
          Download JSON
        </a>
      </div>
      {report.data !== undefined && (
        <dl className="summary" data-testid="report-summary">
          <dt>Generated</dt>
          <dd>{when(report.data.generated_at)}</dd>
          {Object.entries(report.data.summary).map(([key, value]) => (
            <Fragmentless key={key} term={key} value={value} />
          ))}
        </dl>
      )}
    </section>
  );
}

/**
 * The summary's figures for people, in the words of the server's own HTML and Markdown report
 * (src/core/incidents/report-render.ts), each with how its value reads.
 */
const SUMMARY: Record<string, { label: string; as: 'count' | 'usd' | 'percent' | 'duration' | 'yes/no' }> = {
  accounts_affected: { label: 'Accounts affected', as: 'count' },
  withdrawals_counted: { label: 'Withdrawals counted', as: 'count' },
  withdrawals_unauthorized: { label: 'Withdrawals counted, unauthorized', as: 'count' },
  withdrawals_suspect: { label: 'Withdrawals counted, suspect', as: 'count' },
  legitimate_excluded: { label: 'Withdrawals found legitimate (excluded)', as: 'count' },
  usd_total: { label: 'Total attempted', as: 'usd' },
  usd_prevented: { label: 'Prevented (stopped before release)', as: 'usd' },
  usd_lost: { label: 'Lost (completed on chain)', as: 'usd' },
  usd_in_doubt: { label: 'In doubt (released, not settled)', as: 'usd' },
  share_prevented_usd_percent: { label: 'Share prevented (by USD value)', as: 'percent' },
  usd_reimbursed: { label: 'Reimbursed to customers', as: 'usd' },
  usd_lost_not_reimbursed: { label: 'Lost and not reimbursed', as: 'usd' },
  time_to_detect_ms: { label: 'Time to detect', as: 'duration' },
  halt_duration_ms: { label: 'Withdrawals halted (global and asset halts)', as: 'duration' },
  halts_active: { label: 'Halts of withdrawals still active (global and asset)', as: 'count' },
  accounts_frozen: { label: 'Accounts still frozen', as: 'count' },
  reconciled: { label: 'Reimbursements reconciled with the ledger', as: 'yes/no' },
  unpriced_withdrawals: { label: 'Withdrawals without a price (not in USD figures)', as: 'count' },
};

function summaryValue(as: string | undefined, value: unknown): string {
  if (value === null || value === undefined)
    return as === 'duration' ? 'unknown' : as === 'percent' ? 'n/a' : '—';
  if (typeof value === 'object' && 'usd' in value) return `${(value as Usd).usd} USD`;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (as === 'duration' && typeof value === 'number') return duration(value);
  if (as === 'percent') return `${String(value)} %`;
  return String(value);
}

function Fragmentless({ term, value }: { term: string; value: unknown }) {
  const figure = SUMMARY[term];
  return (
    <>
      <dt title={term}>{figure?.label ?? term.replaceAll('_', ' ')}</dt>
      <dd data-field={term}>{summaryValue(figure?.as, value)}</dd>
    </>
  );
}
