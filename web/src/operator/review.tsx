import { useState } from 'react';
import { api, call } from '../api.ts';
import type { Withdrawal } from '../customer/withdrawals.tsx';
import { Link, navigate } from '../router.tsx';
import { Field, ProblemNotice, StateBadge, useAction, useLoad, when } from '../ui.tsx';

interface Review {
  readonly approvals_required: number;
  readonly approvals: readonly { operator_id: string; actor: string; reason: string; at: string }[];
  readonly status: string;
  readonly threshold_usd: string;
  readonly unpriced: boolean;
}

export interface QueueItem extends Withdrawal {
  readonly account_id: string;
  readonly held_since: string;
  readonly rules: readonly { rule: string; version: number; outcome: string; reason: string }[];
  readonly facts: Record<string, unknown> | null;
  readonly price: { usd: string; at: string | null; source: string | null } | null;
  readonly review: Review;
}

export function ReviewQueuePage() {
  const queue = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/review-queue', { params: { query: { limit: '100' } } }))) as {
        withdrawals: QueueItem[];
      },
    [],
    3000,
  );
  return (
    <main id="main" className="page wide">
      <h1>Review queue</h1>
      <p className="hint">Held withdrawals, the longest held first. Live: refreshed every few seconds.</p>
      <ProblemNotice problem={queue.problem} />
      <table className="stack">
        <caption className="sr-only">Withdrawals held for review</caption>
        <thead>
          <tr>
            <th scope="col">Held since</th>
            <th scope="col">Amount</th>
            <th scope="col" className="num">
              USD
            </th>
            <th scope="col">Why</th>
            <th scope="col">Approvals</th>
          </tr>
        </thead>
        <tbody>
          {queue.data?.withdrawals.map((w) => (
            <tr key={w.id}>
              <td data-label="Held since">
                <Link to={`/operator/review/${w.id}`}>{when(w.held_since)}</Link>
              </td>
              <td data-label="Amount">
                {w.amount} {w.asset}
              </td>
              <td data-label="USD" className="num">
                {w.usd_value ?? 'unpriced'}
              </td>
              <td data-label="Why">
                {w.rules
                  .filter((r) => r.outcome !== 'approve' && r.outcome !== 'clear')
                  .map((r) => r.rule)
                  .join(', ') ||
                  (w.reason ?? '')}
              </td>
              <td data-label="Approvals">{w.review.status}</td>
            </tr>
          ))}
          {queue.data?.withdrawals.length === 0 && (
            <tr>
              <td colSpan={5}>Nothing is held for review.</td>
            </tr>
          )}
        </tbody>
      </table>
    </main>
  );
}

export function ReviewItemPage({ id }: { id: string }) {
  const item = useLoad(
    async () =>
      (await call(api.GET('/v1/operator/review-queue/{id}', { params: { path: { id } } }))) as QueueItem,
    [id],
    3000,
  );
  const [reason, setReason] = useState('');
  const act = useAction();
  const w = item.data;
  const decide = (decision: 'approve' | 'reject') =>
    act.run(async () => {
      const path =
        decision === 'approve'
          ? '/v1/operator/review-queue/{id}/approve'
          : '/v1/operator/review-queue/{id}/reject';
      await call(api.POST(path, { params: { path: { id } }, body: { reason } }));
      setReason('');
      item.reload();
    });
  return (
    <main id="main" className="page wide">
      <h1>Review a held withdrawal</h1>
      <ProblemNotice problem={item.problem} />
      {w !== undefined && (
        <>
          <p aria-live="polite">
            <StateBadge state={w.state} /> <strong data-testid="review-status">{w.review.status}</strong>
            {w.review.approvals_required > 1 && (
              <span className="hint">
                {' '}
                (above {w.review.threshold_usd} USD{w.review.unpriced ? ', or unpriced' : ''}: two different
                analysts must approve)
              </span>
            )}
          </p>
          <dl className="summary">
            <dt>Amount</dt>
            <dd>
              {w.amount} {w.asset} on {w.network} (fee {w.fee})
            </dd>
            <dt>USD at confirmation</dt>
            <dd>
              {w.price === null
                ? 'unpriced'
                : `${w.price.usd} (${w.price.source ?? 'price'} at ${when(w.price.at)})`}
            </dd>
            <dt>To</dt>
            <dd className="address">
              {w.destination} {w.destination_label === null ? '' : `(${w.destination_label})`}
            </dd>
            <dt>Customer</dt>
            <dd>
              <Link to={`/operator/search?account=${w.account_id}`}>{w.account_id}</Link>
            </dd>
            <dt>Held since</dt>
            <dd>{when(w.held_since)}</dd>
          </dl>
          <h2>Rules</h2>
          <table className="stack">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {w.rules.map((r) => (
                <tr key={r.rule} className={r.outcome === 'clear' || r.outcome === 'approve' ? '' : 'fired'}>
                  <td data-label="Rule">
                    {r.rule} v{r.version}
                  </td>
                  <td data-label="Outcome">{r.outcome}</td>
                  <td data-label="Reason">{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>Facts the rules decided on</summary>
            <pre className="facts">{JSON.stringify(w.facts, null, 2)}</pre>
          </details>
          <h2>Approvals</h2>
          <ul className="list">
            {w.review.approvals.map((a) => (
              <li key={a.at}>
                {a.actor}: {a.reason} <span className="hint">{when(a.at)}</span>
              </li>
            ))}
            {w.review.approvals.length === 0 && <li>None yet.</li>}
          </ul>
          {w.state === 'held_for_review' && (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                void decide('approve');
              }}
            >
              <Field label="Your reason" hint="Recorded in the audit log with your name.">
                {(fid, hint) => (
                  <input
                    id={fid}
                    aria-describedby={hint}
                    minLength={3}
                    maxLength={500}
                    required
                    value={reason}
                    onChange={(e) => setReason(e.target.value)}
                  />
                )}
              </Field>
              <ProblemNotice problem={act.problem} />
              <div className="actions">
                <button type="submit" className="primary" disabled={act.busy}>
                  Approve
                </button>
                <button
                  type="button"
                  className="danger"
                  disabled={act.busy || reason.trim().length < 3}
                  onClick={() => void decide('reject')}
                >
                  Reject
                </button>
              </div>
            </form>
          )}
        </>
      )}
      <p>
        <button type="button" className="link" onClick={() => navigate('/operator/review')}>
          Back to the queue
        </button>
      </p>
    </main>
  );
}
