import { useSession } from './session.tsx';
import { ProblemNotice } from './ui.tsx';

/** The session could not be checked (not "signed out"): say why, and try again. */
export function SessionUnavailable() {
  const { problem, refresh, signOut } = useSession();
  return (
    <main id="main" className="page narrow">
      <h1>Drawbridge could not check your session</h1>
      <ProblemNotice problem={problem} />
      <div className="actions">
        <button type="button" className="primary" onClick={() => void refresh()}>
          Try again
        </button>
        <button type="button" className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    </main>
  );
}
