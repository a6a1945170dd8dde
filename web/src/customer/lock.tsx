import { useState } from 'react';
import { api, call } from '../api.ts';
import { useSession } from '../session.tsx';
import { ProblemNotice, useAction } from '../ui.tsx';

export function LockPage() {
  const { refresh } = useSession();
  const [sure, setSure] = useState(false);
  const { busy, problem, run } = useAction();
  return (
    <main id="main" className="page narrow">
      <h1>Lock my account</h1>
      <p>
        If you think someone else got into your account, lock it. Every session ends (this one too), pending
        withdrawals stop and nothing leaves until support unlocks it with you.
      </p>
      <label className="check">
        <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> I understand I
        will be signed out and withdrawals stop.
      </label>
      <ProblemNotice problem={problem} />
      <button
        type="button"
        className="danger big"
        disabled={!sure || busy}
        onClick={() =>
          void run(async () => {
            await call(api.POST('/v1/account/lock', {}));
            await refresh();
          })
        }
      >
        Lock my account now
      </button>
    </main>
  );
}
