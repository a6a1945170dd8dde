import { useState } from 'react';
import { api, call } from '../api.ts';
import { useSession } from '../session.tsx';
import { Countdown, duration, Field, ProblemNotice, useLoad, when } from '../ui.tsx';
import { StepUp } from './step-up.tsx';

export interface Entry {
  readonly id: string;
  readonly network: string;
  readonly address: string;
  readonly label: string | null;
  readonly created_at: string;
  readonly usable_from: string;
  readonly cooled: boolean;
}

export const NETWORKS = ['bitcoin', 'bitcoin-testnet', 'ethereum', 'litecoin'] as const;

export function AddressesPage() {
  const { skewMs } = useSession();
  const book = useLoad(
    async () =>
      (await call(api.GET('/v1/address-book', {}))) as { cooling_period_ms: number; entries: Entry[] },
    [],
    10_000,
  );
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Entry | undefined>(undefined);
  const [network, setNetwork] = useState<string>('bitcoin');
  const [address, setAddress] = useState('');
  const [label, setLabel] = useState('');
  const [ready, setReady] = useState(false);
  const cooling = book.data === undefined ? '24 h' : duration(book.data.cooling_period_ms);
  return (
    <main id="main" className="page">
      <h1>Address book</h1>
      <section className="explainer" aria-labelledby="cooling-h">
        <h2 id="cooling-h">What cooling means</h2>
        <p>
          You can only withdraw to addresses in this book, and a new address can receive a withdrawal only
          after it has cooled for <strong>{cooling}</strong>. We email you the moment an address is added: if
          it was not you, lock your account from that email, and the address never becomes usable. This is
          what stopped the 2022 attack that added thieves' addresses to hundreds of accounts.
        </p>
      </section>
      <ProblemNotice problem={book.problem} />
      <table className="stack">
        <caption className="sr-only">Your addresses</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Network</th>
            <th scope="col">Address</th>
            <th scope="col">Usable</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {book.data?.entries.map((e) => (
            <tr key={e.id} data-entry={e.label ?? e.address}>
              <td data-label="Label">{e.label ?? '—'}</td>
              <td data-label="Network">{e.network}</td>
              <td data-label="Address" className="address">
                {e.address}
              </td>
              <td data-label="Usable">
                {e.cooled ? (
                  <span className="badge ok">usable</span>
                ) : (
                  <>
                    <span className="badge wait">cooling</span> usable{' '}
                    <Countdown until={e.usable_from} skewMs={skewMs} done="now (reload)" />
                    <span className="hint"> ({when(e.usable_from)})</span>
                  </>
                )}
              </td>
              <td>
                <button type="button" className="link" onClick={() => setRemoving(e)}>
                  Remove<span className="sr-only"> {e.label ?? e.address}</span>
                </button>
              </td>
            </tr>
          ))}
          {book.data?.entries.length === 0 && (
            <tr>
              <td colSpan={5}>
                No address yet. Add one below; it will cool for {cooling} before you can use it.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {removing !== undefined && (
        <section className="card" aria-labelledby="remove-h">
          <h2 id="remove-h">Remove {removing.label ?? removing.address}</h2>
          <StepUp
            action="address_book.remove"
            submitLabel="Remove address"
            onToken={async (token) => {
              await call(
                api.DELETE('/v1/address-book/{id}', {
                  params: { path: { id: removing.id } },
                  body: { step_up_token: token },
                }),
              );
              setRemoving(undefined);
              book.reload();
            }}
          />
          <button type="button" className="link" onClick={() => setRemoving(undefined)}>
            Keep it
          </button>
        </section>
      )}
      {!adding ? (
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          Add an address
        </button>
      ) : (
        <section className="card" aria-labelledby="add-h">
          <h2 id="add-h">Add an address</h2>
          {!ready ? (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                setReady(true);
              }}
            >
              <Field label="Network">
                {(id) => (
                  <select id={id} value={network} onChange={(e) => setNetwork(e.target.value)}>
                    {NETWORKS.map((n) => (
                      <option key={n} value={n}>
                        {n}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Address" hint="Paste it; check the first and last characters against the source.">
                {(id, hint) => (
                  <input
                    id={id}
                    aria-describedby={hint}
                    required
                    spellCheck={false}
                    autoComplete="off"
                    value={address}
                    onChange={(e) => setAddress(e.target.value)}
                  />
                )}
              </Field>
              <Field label="Label">
                {(id) => (
                  <input
                    id={id}
                    maxLength={64}
                    required
                    value={label}
                    onChange={(e) => setLabel(e.target.value)}
                  />
                )}
              </Field>
              <button type="submit" className="primary">
                Continue
              </button>
            </form>
          ) : (
            <>
              <p>
                Adding <strong className="address">{address}</strong> on {network}
                {` as "${label}"`}. Confirm with your second factor.
              </p>
              <StepUp
                action="address_book.add"
                submitLabel="Add address"
                onToken={async (token) => {
                  await call(
                    api.POST('/v1/address-book', {
                      body: { network, address: address.trim(), label: label.trim(), step_up_token: token },
                    }),
                  );
                  setAdding(false);
                  setReady(false);
                  setAddress('');
                  setLabel('');
                  book.reload();
                }}
              />
              <button type="button" className="link" onClick={() => setReady(false)}>
                Change the address
              </button>
            </>
          )}
        </section>
      )}
    </main>
  );
}
