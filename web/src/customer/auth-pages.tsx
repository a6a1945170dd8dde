import { useState } from 'react';
import { api, call } from '../api.ts';
import { LoginForm } from '../login-form.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { Field, ProblemNotice, useAction } from '../ui.tsx';

export function SignUpPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [sent, setSent] = useState(false);
  const { busy, problem, run } = useAction();
  if (sent) {
    return (
      <main id="main" className="page narrow">
        <h1>Check your email</h1>
        <p>
          We sent a link to <strong>{email}</strong> to confirm it is yours. Open it within 24 hours, then
          sign in.
        </p>
        <p>
          Running the demo? Emails are kept in the{' '}
          <Link to={`/dev/mailbox?to=${encodeURIComponent(email)}`}>dev mailbox</Link>.
        </p>
      </main>
    );
  }
  return (
    <main id="main" className="page narrow">
      <h1>Create your account</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            await call(api.POST('/v1/auth/signup', { body: { email, password } }));
            setSent(true);
          });
        }}
      >
        <Field label="Email">
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password" hint="10 to 128 characters. A passphrase of a few words is good.">
          {(id, hint) => (
            <input
              id={id}
              type="password"
              autoComplete="new-password"
              minLength={10}
              maxLength={128}
              required
              aria-describedby={hint}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ProblemNotice problem={problem} />
        <button type="submit" className="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Sign in</Link>.
      </p>
    </main>
  );
}

export function LoginPage() {
  return (
    <main id="main" className="page narrow">
      <h1>Sign in</h1>
      <LoginForm kind="customer" onSignedIn={() => navigate('/')} />
      <p>
        New here? <Link to="/signup">Create an account</Link>. Operators sign in at{' '}
        <Link to="/operator">/operator</Link>.
      </p>
    </main>
  );
}

/**
 * The page an email's link opens: it acts only when the person presses the button (a mail scanner's visit changes
 * nothing), posting the link's token.
 */
function EmailLinkLanding(props: {
  title: string;
  explainer: string;
  button: string;
  done: string;
  act: (token: string) => Promise<unknown>;
}) {
  const { query } = useLocation();
  const token = query.get('token') ?? '';
  const [done, setDone] = useState(false);
  const { busy, problem, run } = useAction();
  return (
    <main id="main" className="page narrow">
      <h1>{props.title}</h1>
      {done ? (
        <p role="status">{props.done}</p>
      ) : token === '' ? (
        <p>This link has no token. Open the link from the email again.</p>
      ) : (
        <>
          <p>{props.explainer}</p>
          <ProblemNotice problem={problem} />
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await props.act(token);
                setDone(true);
              })
            }
          >
            {props.button}
          </button>
        </>
      )}
    </main>
  );
}

export function VerifyEmailPage() {
  return (
    <EmailLinkLanding
      title="Confirm your email"
      explainer="Press the button to confirm this email address belongs to you."
      button="Confirm my email"
      done="Your email is confirmed. You can sign in now."
      act={(token) =>
        call(api.POST('/v1/auth/verify-email', { body: { token }, headers: { accept: 'application/json' } }))
      }
    />
  );
}

export function LockLinkPage() {
  return (
    <EmailLinkLanding
      title="Lock your account"
      explainer="If something in our email was not you, lock your account: every session ends and withdrawals stop until support unlocks it with you."
      button="Lock my account"
      done="Your account is locked. Every session was ended and no withdrawal will leave. Contact support to unlock it."
      act={(token) =>
        call(api.POST('/v1/account/lock-link', { body: { token }, headers: { accept: 'application/json' } }))
      }
    />
  );
}
