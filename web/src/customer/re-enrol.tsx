import { useState } from 'react';
import { api, call } from '../api.ts';
import { Link, useLocation } from '../router.tsx';
import { ProblemNotice, useAction } from '../ui.tsx';
import { PasskeyEnrolment, RecoveryCodes, TotpEnrolment } from './security.tsx';

/**
 * The landing page of the re-enrolment email (`/mfa/re-enrol?token=`): after a security incident revoked every
 * second factor, the password alone may be the attacker's, so enrolling again takes this single-use link's token
 * (30 minutes). Signed in with the password first (the customer area asks), then an authenticator or a passkey.
 * Opening the page changes nothing: the token is spent only by the enrolment the customer starts.
 */
export function ReEnrolPage() {
  const { query } = useLocation();
  const token = query.get('token') ?? undefined;
  const [codes, setCodes] = useState<readonly string[] | undefined>(undefined);
  const [done, setDone] = useState(false);
  const send = useAction();
  const [sent, setSent] = useState(false);
  const finish = (recovery?: readonly string[]) => {
    setDone(true);
    if (recovery !== undefined) setCodes(recovery);
  };
  return (
    <main id="main" className="page narrow">
      <h1>Enrol your second factor again</h1>
      <p>
        Your second factor was revoked for your protection after a security incident. Set up an authenticator
        app or a passkey again; the link in your email works once, for 30 minutes.
      </p>
      {codes !== undefined && <RecoveryCodes codes={codes} onDone={() => setCodes(undefined)} />}
      {done ? (
        <p className="notice" role="status">
          Your second factor is set up again. <Link to="/security">See your security settings</Link>.
        </p>
      ) : token === undefined ? (
        <p>This page needs the link from your email.</p>
      ) : (
        <div className="actions">
          <TotpEnrolment needsStepUp={false} reenrolmentToken={token} onDone={finish} />
          <PasskeyEnrolment needsStepUp={false} reenrolmentToken={token} onDone={finish} />
        </div>
      )}
      {!done && (
        <section className="card" aria-labelledby="relink-h">
          <h2 id="relink-h">Link expired or already used?</h2>
          <ProblemNotice problem={send.problem} />
          {sent ? (
            <p role="status">A new link is on its way to your email address.</p>
          ) : (
            <button
              type="button"
              disabled={send.busy}
              onClick={() =>
                void send.run(async () => {
                  await call(api.POST('/v1/mfa/reenrolment-link', {}));
                  setSent(true);
                })
              }
            >
              Email me a new link
            </button>
          )}
        </section>
      )}
    </main>
  );
}
