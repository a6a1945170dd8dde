import { useState } from 'react';
import { ApiFailure, type Problem } from '../api.ts';
import { Link, useLocation } from '../router.tsx';
import { Field, ProblemNotice, useLoad, when } from '../ui.tsx';

interface Message {
  readonly id: string;
  readonly event: string;
  readonly subject: string;
  readonly text: string;
  readonly created_at?: string;
}

/** The console's landing page of an email's link (the API's own pages' links are mapped to the console's). */
const LANDING: Record<string, { page: string; label: string }> = {
  '/verify-email': { page: '/verify-email', label: 'Confirm my email' },
  '/v1/auth/verify-email': { page: '/verify-email', label: 'Confirm my email' },
  '/lock-account': { page: '/lock-account', label: 'Lock my account' },
  '/v1/account/lock-link': { page: '/lock-account', label: 'Lock my account' },
  '/mfa/re-enrol': { page: '/mfa/re-enrol', label: 'Enrol my second factor' },
};

function consolePathOf(url: string): { to: string; label: string } | undefined {
  const parsed = new URL(url);
  const token = parsed.searchParams.get('token');
  const landing = LANDING[parsed.pathname];
  if (token === null || landing === undefined) return undefined;
  return { to: `${landing.page}?token=${encodeURIComponent(token)}`, label: landing.label };
}

/** GET /v1/dev/mailbox exists only on the embedded default, so it is not in the typed client. */
async function devMailbox(to: string): Promise<{ messages: Message[] }> {
  let response: Response;
  try {
    response = await fetch(`/v1/dev/mailbox?to=${encodeURIComponent(to)}`);
  } catch {
    throw new ApiFailure({ code: 'NETWORK' });
  }
  const body = (await response.json().catch(() => ({ code: 'UNKNOWN' }))) as unknown;
  if (!response.ok) throw new ApiFailure(body as Problem);
  return body as { messages: Message[] };
}

/** The embedded default's dev mailbox: every email, to read the codes and open the links (development only). */
export function DevMailboxPage() {
  const { query } = useLocation();
  const [to, setTo] = useState(query.get('to') ?? '');
  const [shown, setShown] = useState(query.get('to') ?? '');
  const { data, problem } = useLoad(
    async () => (shown === '' ? undefined : await devMailbox(shown)),
    [shown],
    3000,
  );
  return (
    <main id="main" className="page">
      <h1>Dev mailbox</h1>
      <p className="hint">
        The embedded default keeps every email here instead of sending it. It is never served with PostgreSQL
        or SMTP.
      </p>
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setShown(to.trim());
          history.replaceState(null, '', `/dev/mailbox?to=${encodeURIComponent(to.trim())}`);
        }}
      >
        <Field label="Email address">
          {(id) => <input id={id} type="email" required value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
        <button type="submit">Show emails</button>
      </form>
      <ProblemNotice problem={problem} />
      {data !== undefined && data.messages.length === 0 && <p>No email for {shown} yet.</p>}
      <ol className="mailbox">
        {data?.messages.map((m) => {
          const links = [...m.text.matchAll(/https?:\/\/\S+/g)]
            .map((x) => consolePathOf(x[0]))
            .filter((x) => x !== undefined);
          return (
            <li key={m.id} className="card">
              <h2>{m.subject}</h2>
              {m.created_at !== undefined && <p className="hint">{when(m.created_at)}</p>}
              <pre className="mail-text">{m.text}</pre>
              <div className="actions">
                {links.map((l) => (
                  <Link key={l.to} to={l.to} className="button">
                    {l.label}
                  </Link>
                ))}
              </div>
            </li>
          );
        })}
      </ol>
    </main>
  );
}
