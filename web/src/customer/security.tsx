import { startRegistration } from '@simplewebauthn/browser';
import { useState } from 'react';
import { api, call } from '../api.ts';
import { problemOf } from '../problems.ts';
import { useSession } from '../session.tsx';
import { Field, ProblemNotice, useAction, useLoad, when } from '../ui.tsx';
import { StepUp } from './step-up.tsx';

interface Factor {
  readonly id: string;
  readonly method: string;
  readonly label: string | null;
  readonly activated_at: string;
}

export function SecurityPage() {
  const factors = useLoad(
    async () =>
      (await call(api.GET('/v1/mfa/factors', {}))) as { factors: Factor[]; recovery_codes_left: number },
    [],
  );
  const [recoveryCodes, setRecoveryCodes] = useState<readonly string[] | undefined>(undefined);
  const hasFactor = (factors.data?.factors.length ?? 0) > 0;
  const done = (codes: readonly string[] | undefined) => {
    if (codes !== undefined) setRecoveryCodes(codes);
    factors.reload();
  };
  return (
    <main id="main" className="page">
      <h1>Security</h1>
      <ProblemNotice problem={factors.problem} />
      {recoveryCodes !== undefined && (
        <RecoveryCodes codes={recoveryCodes} onDone={() => setRecoveryCodes(undefined)} />
      )}
      <section aria-labelledby="factors-h">
        <h2 id="factors-h">Second factors</h2>
        {factors.data !== undefined && !hasFactor && (
          <p className="notice">
            You have no second factor yet: add an authenticator app or a passkey. Withdrawals need one.
          </p>
        )}
        <ul className="list">
          {factors.data?.factors.map((f) => {
            const kind = f.method === 'totp' ? 'Authenticator app' : 'Passkey';
            // A label that only repeats the kind (the console names an authenticator so) is said once.
            const label =
              f.label === null || f.label.toLowerCase() === kind.toLowerCase() ? '' : ` ${f.label}`;
            return (
              <li key={f.id}>
                <strong>{kind}</strong>
                {label} <span className="hint">since {when(f.activated_at)}</span>
              </li>
            );
          })}
        </ul>
        {factors.data !== undefined && (
          <p className="hint">Recovery codes left: {factors.data.recovery_codes_left}</p>
        )}
        <TotpEnrolment needsStepUp={hasFactor} onDone={done} />
        <PasskeyEnrolment needsStepUp={hasFactor} onDone={done} />
      </section>
      <AntiPhishing />
    </main>
  );
}

export function RecoveryCodes({ codes, onDone }: { codes: readonly string[]; onDone: () => void }) {
  return (
    <section className="card important" aria-labelledby="codes-h">
      <h2 id="codes-h">Your recovery codes</h2>
      <p>
        Each code works once, if you lose your authenticator or passkey. Save them somewhere safe now: they
        are not shown again.
      </p>
      <ol className="codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <button type="button" className="primary" onClick={onDone}>
        I saved them
      </button>
    </section>
  );
}

interface PendingTotp {
  readonly factor_id: string;
  readonly otpauth_uri: string;
  readonly qr_svg: string;
}

export function TotpEnrolment({
  needsStepUp,
  onDone,
  reenrolmentToken,
}: {
  needsStepUp: boolean;
  onDone: (codes?: readonly string[]) => void;
  /** The emailed link's token, after the account's second factors were revoked (see ReEnrolPage). */
  reenrolmentToken?: string;
}) {
  const [open, setOpen] = useState(false);
  const [pending, setPending] = useState<PendingTotp | undefined>(undefined);
  const [code, setCode] = useState('');
  const { busy, problem, run } = useAction();
  const start = (stepUpToken?: string) =>
    run(async () => {
      const started = (await call(
        api.POST('/v1/mfa/totp', {
          body: {
            label: 'Authenticator app',
            ...(stepUpToken === undefined ? {} : { step_up_token: stepUpToken }),
            ...(reenrolmentToken === undefined ? {} : { reenrolment_token: reenrolmentToken }),
          },
        }),
      )) as PendingTotp;
      setPending(started);
    });
  if (!open)
    return (
      <button
        type="button"
        onClick={() => {
          setOpen(true);
          if (!needsStepUp) void start();
        }}
      >
        Add an authenticator app
      </button>
    );
  if (pending === undefined) {
    return (
      <section className="card" aria-labelledby="totp-h">
        <h3 id="totp-h">Add an authenticator app</h3>
        <ProblemNotice problem={problem} />
        {needsStepUp ? (
          <StepUp action="mfa.enroll" submitLabel="Continue" onToken={(token) => start(token)} />
        ) : (
          <p>Preparing…</p>
        )}
      </section>
    );
  }
  const secret = new URL(pending.otpauth_uri).searchParams.get('secret') ?? '';
  return (
    <section className="card" aria-labelledby="totp-h">
      <h3 id="totp-h">Scan this code with your authenticator app</h3>
      <img
        className="qr"
        alt="QR code of your authenticator secret"
        src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(pending.qr_svg)}`}
        width={200}
        height={200}
      />
      <p>
        Or type this secret: <code data-testid="totp-secret">{secret}</code>
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            const confirmed = (await call(
              api.POST('/v1/mfa/totp/{id}/confirm', {
                params: { path: { id: pending.factor_id } },
                body: { code: code.trim() },
              }),
            )) as { recovery_codes?: string[] };
            setOpen(false);
            setPending(undefined);
            onDone(confirmed.recovery_codes);
          });
        }}
      >
        <Field label="Code from the app" hint="Enter the 6 digits it shows, to prove it is set up.">
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          )}
        </Field>
        <ProblemNotice problem={problem} />
        <button type="submit" className="primary" disabled={busy}>
          Activate
        </button>
      </form>
    </section>
  );
}

export function PasskeyEnrolment({
  needsStepUp,
  onDone,
  reenrolmentToken,
}: {
  needsStepUp: boolean;
  onDone: (codes?: readonly string[]) => void;
  /** The emailed link's token, after the account's second factors were revoked (see ReEnrolPage). */
  reenrolmentToken?: string;
}) {
  const [open, setOpen] = useState(false);
  const [label, setLabel] = useState('This device');
  const { busy, problem, run, setProblem } = useAction();
  const register = (stepUpToken?: string) =>
    run(async () => {
      const { challenge_id, options } = (await call(
        api.POST('/v1/mfa/passkeys/options', {
          body: {
            ...(stepUpToken === undefined ? {} : { step_up_token: stepUpToken }),
            ...(reenrolmentToken === undefined ? {} : { reenrolment_token: reenrolmentToken }),
          },
        }),
      )) as { challenge_id: string; options: unknown };
      let response: unknown;
      try {
        response = await startRegistration({
          optionsJSON: options as Parameters<typeof startRegistration>[0]['optionsJSON'],
        });
      } catch (error) {
        setProblem(problemOf(error));
        return;
      }
      const made = (await call(
        api.POST('/v1/mfa/passkeys', { body: { challenge_id, response: response as never, label } }),
      )) as { recovery_codes?: string[] };
      setOpen(false);
      onDone(made.recovery_codes);
    });
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Add a passkey
      </button>
    );
  return (
    <section className="card" aria-labelledby="passkey-h">
      <h3 id="passkey-h">Add a passkey</h3>
      <p>A passkey signs each withdrawal itself: what you approve is bound into what your device signs.</p>
      <Field label="Name for this passkey">
        {(id) => <input id={id} maxLength={64} value={label} onChange={(e) => setLabel(e.target.value)} />}
      </Field>
      <ProblemNotice problem={problem} />
      {needsStepUp ? (
        <StepUp action="mfa.enroll" submitLabel="Create passkey" onToken={(token) => register(token)} />
      ) : (
        <button type="button" className="primary" disabled={busy} onClick={() => void register()}>
          Create passkey
        </button>
      )}
    </section>
  );
}

function AntiPhishing() {
  const { me, refresh } = useSession();
  const [code, setCode] = useState('');
  const [ready, setReady] = useState(false);
  return (
    <section id="anti-phishing" aria-labelledby="ap-h">
      <h2 id="ap-h">Anti-phishing code</h2>
      <p>
        A word or phrase only you and Drawbridge know. Every genuine email and every page where you act shows
        it. A page or email without it is not from us.{' '}
        {me?.anti_phishing_code === null && me.aal >= 2 ? 'You have none yet.' : ''}
      </p>
      {!ready ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setReady(true);
          }}
        >
          <Field
            label="New anti-phishing code"
            hint="4 to 32 letters, digits, spaces, dots, dashes or underscores."
          >
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                minLength={4}
                maxLength={32}
                pattern="[A-Za-z0-9 _.\-]{4,32}"
                required
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            )}
          </Field>
          <button type="submit">Set code</button>
        </form>
      ) : (
        <StepUp
          action="anti_phishing.set"
          submitLabel="Set anti-phishing code"
          onToken={async (token) => {
            await call(api.PUT('/v1/account/anti-phishing-code', { body: { code, step_up_token: token } }));
            setReady(false);
            setCode('');
            await refresh();
          }}
        />
      )}
    </section>
  );
}
