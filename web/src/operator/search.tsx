import { useState } from 'react';
import { WITHDRAWAL_STATES } from '../../../src/core/withdrawals/states.ts';
import { api, call } from '../api.ts';
import type { Withdrawal } from '../customer/withdrawals.tsx';
import { useLocation } from '../router.tsx';
import { Field, ProblemNotice, StateBadge, useLoad, when } from '../ui.tsx';

interface Customer {
  readonly id: string;
  readonly email: string;
  readonly email_verified_at: string | null;
  readonly created_at: string;
  readonly locked_at: string | null;
  readonly locked_reason: string | null;
  readonly withdrawals_locked_until: string | null;
}

export function SearchPage() {
  const { query } = useLocation();
  const [email, setEmail] = useState('');
  const [emailQuery, setEmailQuery] = useState('');
  const [account, setAccount] = useState(query.get('account') ?? '');
  const [state, setState] = useState('');
  const [asset, setAsset] = useState('');
  const customers = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/customers', {
          params: { query: { limit: '20', ...(emailQuery === '' ? {} : { email: emailQuery }) } },
        }),
      )) as { customers: Customer[] },
    [emailQuery],
  );
  const withdrawals = useLoad(
    async () =>
      (await call(
        api.GET('/v1/operator/withdrawals', {
          params: {
            query: {
              limit: '50',
              ...(state === '' ? {} : { state }),
              ...(asset === '' ? {} : { asset }),
              ...(account === '' ? {} : { account_id: account }),
            },
          },
        }),
      )) as { withdrawals: (Withdrawal & { account_id?: string })[] },
    [state, asset, account],
    5000,
  );
  return (
    <main id="main" className="page wide">
      <h1>Customers and withdrawals</h1>
      <section aria-labelledby="cust-h">
        <h2 id="cust-h">Customers</h2>
        <form
          className="inline"
          onSubmit={(event) => {
            event.preventDefault();
            setEmailQuery(email.trim());
          }}
        >
          <Field label="Email starts with">
            {(id) => <input id={id} value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
          <button type="submit">Search</button>
        </form>
        <ProblemNotice problem={customers.problem} />
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Since</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {customers.data?.customers.map((c) => (
              <tr key={c.id}>
                <td data-label="Email">{c.email}</td>
                <td data-label="Since">{when(c.created_at)}</td>
                <td data-label="Status">
                  {c.locked_at !== null
                    ? `locked (${c.locked_reason ?? ''})`
                    : c.email_verified_at === null
                      ? 'email not confirmed'
                      : 'active'}
                </td>
                <td data-label="Actions">
                  <button type="button" className="link" onClick={() => setAccount(c.id)}>
                    Withdrawals<span className="sr-only"> of {c.email}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="wd-h">
        <h2 id="wd-h">Withdrawals</h2>
        <div className="inline">
          <Field label="State">
            {(id) => (
              <select id={id} value={state} onChange={(e) => setState(e.target.value)}>
                <option value="">any</option>
                {WITHDRAWAL_STATES.map((s) => (
                  <option key={s} value={s}>
                    {s.replaceAll('_', ' ')}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Asset">
            {(id) => (
              <input
                id={id}
                size={6}
                value={asset}
                onChange={(e) => setAsset(e.target.value.toUpperCase())}
              />
            )}
          </Field>
          <Field label="Account id">
            {(id) => (
              <input id={id} size={36} value={account} onChange={(e) => setAccount(e.target.value.trim())} />
            )}
          </Field>
        </div>
        <ProblemNotice problem={withdrawals.problem} />
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Amount</th>
              <th scope="col">To</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {withdrawals.data?.withdrawals.map((w) => (
              <tr key={w.id}>
                <td data-label="Created">{when(w.created_at)}</td>
                <td data-label="Amount">
                  {w.amount} {w.asset}
                </td>
                <td data-label="To" className="address">
                  {w.destination}
                </td>
                <td data-label="State">
                  <StateBadge state={w.state} />
                </td>
              </tr>
            ))}
            {withdrawals.data?.withdrawals.length === 0 && (
              <tr>
                <td colSpan={4}>None match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </main>
  );
}
