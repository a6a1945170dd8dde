import { useState } from 'react';
import { api, call } from '../api.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { Countdown, ProblemNotice, StateBadge, useAction, useLoad, when } from '../ui.tsx';

export interface Withdrawal {
  readonly id: string;
  readonly state: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly destination_id: string;
  readonly destination: string;
  readonly destination_label: string | null;
  readonly summary: string;
  readonly digest: string;
  readonly expires_at: string | null;
  readonly release_after: string | null;
  readonly time_locked_until: string | null;
  readonly txid: string | null;
  readonly usd_value: string | null;
  readonly reason: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

interface Move {
  readonly at: string;
  readonly from_state: string | null;
  readonly to_state: string;
  readonly actor: string;
  readonly reason: string | null;
}

const FINAL = new Set(['completed', 'cancelled', 'rejected', 'expired', 'errored']);
const CANCELLABLE = new Set([
  'awaiting_confirmation',
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
]);

/** What each state means for the customer, in a sentence. */
const MEANING: Record<string, string> = {
  awaiting_confirmation: 'Waiting for your code or passkey.',
  screening: 'Being checked.',
  held_for_review: 'Held for a risk analyst to look at; you will be emailed the outcome.',
  time_locked: 'Waiting out a security delay.',
  queued: 'Approved; it leaves after the cancel window unless you cancel it.',
  released: 'Signed and handed to the network.',
  broadcast: 'On its way: waiting for confirmations.',
  completed: 'Done: confirmed on the chain.',
  cancelled: 'Cancelled: the funds are back in your balance.',
  rejected: 'Rejected by our checks: the funds are back in your balance.',
  expired: 'Not confirmed in time.',
  errored: 'Its outcome is being checked by an operator.',
};

export function WithdrawalsPage() {
  const [state, setState] = useState('');
  const list = useLoad(
    async () =>
      (await call(
        api.GET('/v1/withdrawals', {
          params: { query: { limit: '50', ...(state === '' ? {} : { state }) } },
        }),
      )) as { withdrawals: Withdrawal[] },
    [state],
    3000,
  );
  return (
    <main id="main" className="page">
      <h1>Withdrawals</h1>
      <label className="inline-label">
        Show{' '}
        <select value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">all</option>
          {Object.keys(MEANING).map((s) => (
            <option key={s} value={s}>
              {s.replaceAll('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <ProblemNotice problem={list.problem} />
      <table className="stack">
        <caption className="sr-only">Your withdrawals</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Amount</th>
            <th scope="col">To</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.withdrawals.map((w) => (
            <tr key={w.id}>
              <td data-label="When">
                <Link to={`/withdrawals/${w.id}`}>{when(w.created_at)}</Link>
              </td>
              <td data-label="Amount">
                {w.amount} {w.asset}
              </td>
              <td data-label="To" className={w.destination_label === null ? 'address' : undefined}>
                {w.destination_label ?? w.destination}
              </td>
              <td data-label="State">
                <StateBadge state={w.state} />
              </td>
            </tr>
          ))}
          {list.data?.withdrawals.length === 0 && (
            <tr>
              <td colSpan={4}>None.</td>
            </tr>
          )}
        </tbody>
      </table>
    </main>
  );
}

export function WithdrawalPage({ id }: { id: string }) {
  const { skewMs } = useSession();
  const [live, setLive] = useState(true);
  const found = useLoad(
    async () => {
      const w = (await call(api.GET('/v1/withdrawals/{id}', { params: { path: { id } } }))) as Withdrawal & {
        history: Move[];
      };
      if (FINAL.has(w.state)) setLive(false);
      return w;
    },
    [id],
    live ? 1000 : undefined,
  );
  const cancel = useAction();
  const w = found.data;
  return (
    <main id="main" className="page">
      <h1>Withdrawal</h1>
      <ProblemNotice problem={found.problem} />
      {w !== undefined && (
        <>
          <p className="state-line" aria-live="polite">
            <StateBadge state={w.state} /> <span data-testid="state-meaning">{MEANING[w.state] ?? ''}</span>
          </p>
          {w.state === 'queued' && w.release_after !== null && (
            <p>
              Leaves <Countdown until={w.release_after} skewMs={skewMs} done="any moment now" /> unless you
              cancel.
            </p>
          )}
          {w.state === 'time_locked' && w.time_locked_until !== null && (
            <p>
              Security delay ends <Countdown until={w.time_locked_until} skewMs={skewMs} done="now" />.
            </p>
          )}
          <dl className="summary">
            <dt>Amount</dt>
            <dd>
              {w.amount} {w.asset} (fee {w.fee} {w.asset})
            </dd>
            <dt>Network</dt>
            <dd>{w.network}</dd>
            <dt>To</dt>
            <dd className="address">
              {w.destination} {w.destination_label === null ? '' : `(${w.destination_label})`}
            </dd>
            {w.txid !== null && (
              <>
                <dt>Transaction</dt>
                <dd className="address">{w.txid}</dd>
              </>
            )}
            {w.reason !== null && (
              <>
                <dt>Reason</dt>
                <dd>{w.reason}</dd>
              </>
            )}
          </dl>
          <ProblemNotice problem={cancel.problem} />
          {CANCELLABLE.has(w.state) && (
            <button
              type="button"
              className="danger"
              disabled={cancel.busy}
              onClick={() =>
                void cancel.run(async () => {
                  await call(api.POST('/v1/withdrawals/{id}/cancel', { params: { path: { id } }, body: {} }));
                  setLive(true);
                  found.reload();
                })
              }
            >
              Cancel this withdrawal
            </button>
          )}
          <h2>History</h2>
          <ol className="history">
            {w.history.map((m) => (
              <li key={`${m.at}-${m.to_state}`}>
                <time dateTime={m.at}>{when(m.at)}</time> <StateBadge state={m.to_state} />
                {m.reason === null ? '' : ` ${m.reason}`}
              </li>
            ))}
          </ol>
        </>
      )}
      <p>
        <Link to="/withdrawals">All withdrawals</Link>
      </p>
    </main>
  );
}
