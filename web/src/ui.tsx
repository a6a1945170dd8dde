import { startAuthentication } from '@simplewebauthn/browser';
import { Component, type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import type { Problem } from './api.ts';
import { explain, problemOf } from './problems.ts';

/** A failed request, said as what went wrong and what to do; never a raw error or stack trace. */
export function ProblemNotice({ problem }: { problem: Problem | undefined }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (problem !== undefined) ref.current?.focus();
  }, [problem]);
  if (problem === undefined) return null;
  const said = explain(problem);
  return (
    <div className="problem" role="alert" tabIndex={-1} ref={ref} data-code={problem.code}>
      <strong>{said.what}</strong> {said.todo}
      {said.reason !== undefined && (
        <p className="problem-reason">
          {said.field === undefined ? '' : `${said.field}: `}
          {said.reason}
        </p>
      )}
    </div>
  );
}

/**
 * A page that throws while rendering (an answer of a shape it did not expect) shows what happened and what to do in
 * place of the page, under the header and its navigation, instead of a blank screen; never the error itself. Keyed
 * by the path where it is used, so moving to another page starts afresh.
 */
export class PageBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <main id="main" className="page narrow">
        <h1>Something went wrong</h1>
        <ProblemNotice problem={{ code: 'UNEXPECTED_ANSWER' }} />
        <div className="actions">
          <button type="button" className="primary" onClick={() => location.reload()}>
            Reload the page
          </button>
        </div>
      </main>
    );
  }
}

/** Runs an action with a busy flag and the problem it failed with. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(undefined);
    try {
      return await action();
    } catch (error) {
      setProblem(problemOf(error));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, run, setProblem };
}

/** Loads data, and again every `everyMs` when given (live pages): the last good data stays on a failed poll. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], everyMs?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    let live = true;
    const once = async () => {
      try {
        const value = await load();
        if (live) {
          setData(value);
          setProblem(undefined);
        }
      } catch (error) {
        if (live) setProblem(problemOf(error));
      }
    };
    void once();
    const timer = everyMs === undefined ? undefined : setInterval(once, everyMs);
    return () => {
      live = false;
      if (timer !== undefined) clearInterval(timer);
    };
  }, [...deps, tick, everyMs]);
  return { data, problem, reload: () => setTick((t) => t + 1) };
}

export function Field(props: {
  label: string;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const hintId = props.hint === undefined ? undefined : `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint !== undefined && (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** A reason field, 3..500 characters, kept in the audit log: every playbook action asks for one. */
export function ReasonField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  hint?: string;
}) {
  return (
    <Field label={props.label} hint={props.hint ?? '3..500 characters, kept in the audit log.'}>
      {(id, hint) => (
        <input
          id={id}
          aria-describedby={hint}
          minLength={3}
          maxLength={500}
          required
          value={props.value}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** "in 3 h 12 min 5 s", counting down every second against the server's clock. */
export function Countdown({ until, skewMs, done }: { until: string; skewMs: number; done: string }) {
  const [now, setNow] = useState(() => Date.now() + skewMs);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() + skewMs), 1000);
    return () => clearInterval(timer);
  }, [skewMs]);
  const left = new Date(until).getTime() - now;
  if (left <= 0) return <span className="countdown done">{done}</span>;
  return (
    <span className="countdown" aria-live="off">
      in {duration(left)}
    </span>
  );
}

/** "1 d", "23 h 59 min", "5 min 3 s": the parts that are not zero, to the second (rounded up). */
export function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'min'],
    [s % 60, 's'],
  ];
  const said = parts.filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}`);
  return said.length === 0 ? '0 s' : said.join(' ');
}

/**
 * A long id said short, "withdrawal:01a23ab8…9f2c": its first 8 characters and its last 4 (ids made in the same
 * minute share their first ones; the last are random).
 */
export function shortId(id: string): string {
  const colon = id.indexOf(':');
  const rest = id.slice(colon + 1);
  return rest.length > 16 ? `${id.slice(0, colon + 1)}${rest.slice(0, 8)}…${rest.slice(-4)}` : id;
}

/** A long id shown short, the whole id in its title. */
export function ShortId({ id }: { id: string }) {
  return (
    <span className="id" title={id}>
      {shortId(id)}
    </span>
  );
}

/**
 * Who did something, for people: an operator by email (the API names them in `…_email`), a customer as "customer"
 * and a short id, anyone else (the monitor, break-glass) as named; the whole actor in the title.
 */
export function Actor({ actor, email }: { actor: string | null; email?: string | null | undefined }) {
  if (actor === null) return null;
  if (email !== undefined && email !== null)
    return (
      <span className="actor" title={actor}>
        {email}
      </span>
    );
  if (actor.startsWith('customer:'))
    return (
      <span className="actor id" title={actor}>
        customer {shortId(actor.slice('customer:'.length))}
      </span>
    );
  return <ShortId id={actor} />;
}

export function when(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  return new Date(iso).toLocaleString();
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state.replaceAll('_', ' ')}</span>;
}

/** A second factor for one step: a 6-digit code from the authenticator, or a passkey. */
export type Proof =
  | { method: 'totp'; code: string }
  | { method: 'recovery_code'; code: string }
  | { method: 'passkey'; challenge_id: string; response: unknown };

/**
 * Asks for the second factor: a code field (TOTP or a recovery code) and, when a passkey challenge can be had, a
 * passkey button. `onProof` does the call that spends it.
 */
export function ProofForm(props: {
  submitLabel: string;
  busy: boolean;
  passkeyChallenge?: () => Promise<{ challenge_id: string; options: unknown }>;
  onProof: (proof: Proof) => void;
  onPasskeyFailed?: (error: unknown) => void;
}) {
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const passkey = async () => {
    if (props.passkeyChallenge === undefined) return;
    try {
      const challenge = await props.passkeyChallenge();
      const response = await startAuthentication({
        optionsJSON: challenge.options as Parameters<typeof startAuthentication>[0]['optionsJSON'],
      });
      props.onProof({ method: 'passkey', challenge_id: challenge.challenge_id, response });
    } catch (error) {
      props.onPasskeyFailed?.(error);
    }
  };
  return (
    <div className="proof">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          props.onProof({ method: recovery ? 'recovery_code' : 'totp', code: code.trim() });
        }}
      >
        <Field
          label={recovery ? 'Recovery code' : 'Authenticator code'}
          hint={
            recovery
              ? 'One of the codes you saved when you enrolled.'
              : 'The 6 digits your authenticator app shows now.'
          }
        >
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              name="code"
              autoComplete="one-time-code"
              inputMode={recovery ? 'text' : 'numeric'}
              pattern={recovery ? undefined : '[0-9]{6}'}
              required
              value={code}
              onChange={(event) => setCode(event.target.value)}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={props.busy}>
            {props.submitLabel}
          </button>
          <button type="button" className="link" onClick={() => setRecovery(!recovery)}>
            {recovery ? 'Use my authenticator code' : 'Use a recovery code'}
          </button>
        </div>
      </form>
      {props.passkeyChallenge !== undefined && (
        <button type="button" onClick={passkey} disabled={props.busy}>
          Use my passkey
        </button>
      )}
    </div>
  );
}
