import { api, call } from '../api.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { Countdown, ProblemNotice, StateBadge, useLoad, when } from '../ui.tsx';
import type { Withdrawal } from './withdrawals.tsx';

export function OverviewPage() {
  const { me, skewMs } = useSession();
  const balances = useLoad(() => call(api.GET('/v1/balances', {})), [], 5000);
  const recent = useLoad(
    async () =>
      (await call(api.GET('/v1/withdrawals', { params: { query: { limit: '5' } } }))) as {
        withdrawals: Withdrawal[];
      },
    [],
    3000,
  );
  const lockedUntil = me?.withdrawals_locked_until;
  return (
    <main id="main" className="page">
      <h1>Your balances</h1>
      {lockedUntil !== null &&
        lockedUntil !== undefined &&
        new Date(lockedUntil).getTime() > Date.now() + skewMs && (
          <p className="notice">
            Withdrawals are paused after a recent security change; they resume{' '}
            <Countdown until={lockedUntil} skewMs={skewMs} done="now" /> ({when(lockedUntil)}).
          </p>
        )}
      <ProblemNotice problem={balances.problem} />
      <table className="balances">
        <caption className="sr-only">Balances by asset</caption>
        <thead>
          <tr>
            <th scope="col">Asset</th>
            <th scope="col" className="num">
              Available
            </th>
            <th scope="col" className="num">
              Held for withdrawals
            </th>
          </tr>
        </thead>
        <tbody>
          {balances.data?.balances.map((b) => (
            <tr key={b.asset}>
              <th scope="row">{b.asset}</th>
              <td className="num">{b.available}</td>
              <td className="num">{b.held}</td>
            </tr>
          ))}
          {balances.data?.balances.length === 0 && (
            <tr>
              <td colSpan={3}>Nothing yet: deposits appear here once credited.</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="actions">
        <Link to="/withdraw" className="button primary">
          Withdraw
        </Link>
        <Link to="/addresses" className="button">
          Address book
        </Link>
      </div>
      <h2>Recent withdrawals</h2>
      <ProblemNotice problem={recent.problem} />
      <ul className="list">
        {recent.data?.withdrawals.map((w) => (
          <li key={w.id}>
            <Link to={`/withdrawals/${w.id}`}>
              {w.amount} {w.asset} to {w.destination_label ?? w.destination}
            </Link>{' '}
            <StateBadge state={w.state} /> <span className="hint">{when(w.created_at)}</span>
          </li>
        ))}
        {recent.data?.withdrawals.length === 0 && <li>No withdrawals yet.</li>}
      </ul>
    </main>
  );
}
