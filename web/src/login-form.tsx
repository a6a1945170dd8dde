import { startAuthentication } from '@simplewebauthn/browser';
import { useState } from 'react';
import { ApiFailure, api, call, type Problem } from './api.ts';
import { problemOf } from './problems.ts';
import { deviceId, useSession } from './session.tsx';
import { Field, ProblemNotice, type Proof, useAction } from './ui.tsx';

/**
 * Email, password and the second factor in one form (so a sign-in is one request), or a passkey for customers.
 * Operators always give a code; a customer without a second factor yet leaves it empty.
 */
export function LoginForm({ kind, onSignedIn }: { kind: 'customer' | 'operator'; onSignedIn: () => void }) {
  const { signedIn } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const { busy, problem, run, setProblem } = useAction();
  const login = (proof: Proof | undefined) =>
    run(async () => {
      const { data, error } =
        kind === 'operator'
          ? await api.POST('/v1/operator/login', { body: { email, password, proof: proof as never } })
          : await api.POST('/v1/auth/login', {
              body: {
                email,
                password,
                device: { id: deviceId(), platform: 'web' },
                ...(proof === undefined ? {} : { proof: proof as never }),
              },
            });
      if (error !== undefined) throw new ApiFailure(error as Problem);
      await signedIn((data as { csrf_token: string }).csrf_token);
      onSignedIn();
    });
  const withPasskey = async () => {
    try {
      const challenge = (await call(api.POST('/v1/auth/login/passkey-challenge', { body: { email } }))) as {
        challenge_id: string;
        options: unknown;
      };
      const response = await startAuthentication({
        optionsJSON: challenge.options as Parameters<typeof startAuthentication>[0]['optionsJSON'],
      });
      await login({ method: 'passkey', challenge_id: challenge.challenge_id, response });
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const trimmed = code.trim();
        void login(
          trimmed === '' ? undefined : { method: recovery ? 'recovery_code' : 'totp', code: trimmed },
        );
      }}
    >
      <Field label="Email">
        {(id) => (
          <input
            id={id}
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        )}
      </Field>
      <Field label="Password">
        {(id) => (
          <input
            id={id}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
      </Field>
      <Field
        label={recovery ? 'Recovery code' : 'Authenticator code'}
        hint={
          kind === 'customer'
            ? 'The 6 digits your authenticator shows. Leave it empty if you have not set up a second factor yet.'
            : 'The 6 digits your authenticator shows.'
        }
      >
        {(id, hint) => (
          <input
            id={id}
            aria-describedby={hint}
            autoComplete="one-time-code"
            inputMode={recovery ? 'text' : 'numeric'}
            required={kind === 'operator'}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        )}
      </Field>
      <ProblemNotice problem={problem} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
        {kind === 'customer' && (
          <button
            type="button"
            disabled={busy || email === '' || password === ''}
            onClick={() => void withPasskey()}
          >
            Sign in with a passkey
          </button>
        )}
        <button type="button" className="link" onClick={() => setRecovery(!recovery)}>
          {recovery ? 'Use my authenticator code' : 'Use a recovery code'}
        </button>
      </div>
    </form>
  );
}
