import { useState } from 'react';
import { api, call } from '../api.ts';
import { problemOf } from '../problems.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import { Countdown, Field, ProblemNotice, ProofForm, useAction, useLoad } from '../ui.tsx';
import type { Entry } from './addresses.tsx';
import type { Withdrawal } from './withdrawals.tsx';

/** Which networks carry each asset (the fee table decides which pairs are offered; the server says so if not). */
const NETWORKS_OF: Record<string, readonly string[]> = {
  BTC: ['bitcoin', 'bitcoin-testnet'],
  ETH: ['ethereum'],
  USDC: ['ethereum'],
  LTC: ['litecoin'],
};

type Requested = Withdrawal & { warnings: readonly { code: string; detail: string }[] };

export function WithdrawPage() {
  const [requested, setRequested] = useState<Requested | undefined>(undefined);
  return requested === undefined ? (
    <WithdrawForm onRequested={setRequested} />
  ) : (
    <ConfirmWithdrawal withdrawal={requested} onBack={() => setRequested(undefined)} />
  );
}

function WithdrawForm({ onRequested }: { onRequested: (w: Requested) => void }) {
  const balances = useLoad(() => call(api.GET('/v1/balances', {})), []);
  const book = useLoad(async () => (await call(api.GET('/v1/address-book', {}))) as { entries: Entry[] }, []);
  const [asset, setAsset] = useState('');
  const [network, setNetwork] = useState('');
  const [destination, setDestination] = useState('');
  const [amount, setAmount] = useState('');
  const { busy, problem, run } = useAction();
  const assets = balances.data?.balances.map((b) => b.asset) ?? [];
  const chosenAsset = asset === '' ? (assets[0] ?? '') : asset;
  const networks = NETWORKS_OF[chosenAsset] ?? [];
  const chosenNetwork = network !== '' && networks.includes(network) ? network : (networks[0] ?? '');
  const entries = (book.data?.entries ?? []).filter((e) => e.network === chosenNetwork);
  const chosenDestination = entries.some((e) => e.id === destination) ? destination : (entries[0]?.id ?? '');
  const available = balances.data?.balances.find((b) => b.asset === chosenAsset)?.available;
  return (
    <main id="main" className="page narrow">
      <h1>Withdraw</h1>
      <ProblemNotice problem={balances.problem ?? book.problem} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            const created = (await call(
              api.POST('/v1/withdrawals', {
                body: {
                  asset: chosenAsset,
                  network: chosenNetwork,
                  amount: amount.trim(),
                  destination_id: chosenDestination,
                },
              }),
            )) as Requested;
            onRequested(created);
          });
        }}
      >
        <Field label="Asset">
          {(id) => (
            <select id={id} value={chosenAsset} onChange={(e) => setAsset(e.target.value)}>
              {assets.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Network">
          {(id) => (
            <select id={id} value={chosenNetwork} onChange={(e) => setNetwork(e.target.value)}>
              {networks.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="To" hint="Only addresses from your address book on this network.">
          {(id, hint) => (
            <select
              id={id}
              aria-describedby={hint}
              value={chosenDestination}
              onChange={(e) => setDestination(e.target.value)}
              required
            >
              {entries.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.label ?? 'No label'} · {e.address.slice(0, 10)}…{e.address.slice(-6)}
                  {e.cooled ? '' : ' (still cooling)'}
                </option>
              ))}
            </select>
          )}
        </Field>
        {entries.length === 0 && (
          <p className="notice">
            No address on {chosenNetwork} yet: <Link to="/addresses">add one</Link> (it cools before it can be
            used).
          </p>
        )}
        <Field
          label={`Amount (${chosenAsset})`}
          hint={
            available === undefined ? undefined : `Available: ${available} ${chosenAsset}; the fee is added.`
          }
        >
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              inputMode="decimal"
              required
              pattern="[0-9]+(\.[0-9]+)?"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
            />
          )}
        </Field>
        <ProblemNotice problem={problem} />
        <button type="submit" className="primary" disabled={busy || entries.length === 0}>
          Review withdrawal
        </button>
      </form>
    </main>
  );
}

/**
 * What will be authorised, exactly as the server made it (amount, asset, network, the full address, label, fee
 * and the digest the proof is bound to), shown before the code or the passkey is asked for.
 */
function ConfirmWithdrawal({ withdrawal, onBack }: { withdrawal: Requested; onBack: () => void }) {
  const { skewMs } = useSession();
  const { busy, problem, run, setProblem } = useAction();
  const warnings = (withdrawal.warnings ?? []).map((w) => w.detail);
  return (
    <main id="main" className="page narrow">
      <h1>Confirm your withdrawal</h1>
      <p>Check every line. This is what your code or passkey will authorise, and nothing else.</p>
      <dl className="summary" data-testid="confirmation-summary">
        <dt>Amount</dt>
        <dd data-field="amount">
          {withdrawal.amount} {withdrawal.asset}
        </dd>
        <dt>Network</dt>
        <dd data-field="network">{withdrawal.network}</dd>
        <dt>To address</dt>
        <dd data-field="address" className="address">
          {withdrawal.destination}
        </dd>
        <dt>Label</dt>
        <dd data-field="label">{withdrawal.destination_label ?? '—'}</dd>
        <dt>Fee</dt>
        <dd data-field="fee">
          {withdrawal.fee} {withdrawal.asset}
        </dd>
        <dt>In words</dt>
        <dd data-field="summary">{withdrawal.summary}</dd>
        <dt>Digest</dt>
        <dd data-field="digest" className="digest">
          {withdrawal.digest}
        </dd>
      </dl>
      {warnings.length > 0 && (
        <ul className="notice" aria-label="Before you confirm">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {withdrawal.expires_at !== null && (
        <p>
          Confirm <Countdown until={withdrawal.expires_at} skewMs={skewMs} done="now: it has expired" />.
        </p>
      )}
      <ProblemNotice problem={problem} />
      <ProofForm
        submitLabel="Confirm withdrawal"
        busy={busy}
        onPasskeyFailed={(error) => setProblem(problemOf(error))}
        passkeyChallenge={() =>
          call(
            api.POST('/v1/withdrawals/{id}/passkey-challenge', { params: { path: { id: withdrawal.id } } }),
          ) as never
        }
        onProof={(proof) =>
          void run(async () => {
            await call(
              api.POST('/v1/withdrawals/{id}/confirm', {
                params: { path: { id: withdrawal.id } },
                body: { proof: proof as never },
              }),
            );
            navigate(`/withdrawals/${withdrawal.id}`);
          })
        }
      />
      <button type="button" className="link" onClick={onBack}>
        Change something (starts a new withdrawal)
      </button>
    </main>
  );
}
