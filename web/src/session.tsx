import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { api, call, hasCsrf, type Problem, rememberCsrf } from './api.ts';
import { problemOf } from './problems.ts';

export interface Me {
  readonly id: string;
  readonly kind: 'customer' | 'operator';
  readonly email: string;
  readonly role: string | null;
  readonly aal: number;
  readonly anti_phishing_code: string | null;
  readonly locked_at: string | null;
  readonly withdrawals_locked_until: string | null;
  readonly server_time: string;
}

interface SessionState {
  /** undefined while loading, null when not signed in. */
  readonly me: Me | null | undefined;
  /**
   * Why the session could not be checked (Drawbridge unreachable, busy, answering 5xx), when that is not "signed
   * out": the page says so and offers to try again rather than a sign-in form that would fail the same way.
   */
  readonly problem: Problem | undefined;
  /** Server clock minus this browser's, for countdowns that agree with the server. */
  readonly skewMs: number;
  refresh(): Promise<Me | null>;
  signedIn(csrf: string): Promise<Me | null>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [skewMs, setSkew] = useState(0);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const refresh = useCallback(async () => {
    // Without the CSRF token of a sign-in in this tab the cookie session could change nothing: signed out, and no
    // request that would only answer 401.
    if (!hasCsrf()) {
      setMe(null);
      return null;
    }
    try {
      const found = (await call(api.GET('/v1/account', {}))) as Me;
      setSkew(new Date(found.server_time).getTime() - Date.now());
      setProblem(undefined);
      setMe(found);
      return found;
    } catch (error) {
      const failed = problemOf(error);
      const signedOut = failed.status === 401 || failed.status === 403 || failed.code === 'UNAUTHENTICATED';
      setProblem(signedOut ? undefined : failed);
      setMe(null);
      return null;
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const signedIn = useCallback(
    async (csrf: string) => {
      rememberCsrf(csrf);
      return refresh();
    },
    [refresh],
  );
  const signOut = useCallback(async () => {
    await api.POST('/v1/auth/logout', {}).catch(() => undefined);
    rememberCsrf(undefined);
    setProblem(undefined);
    setMe(null);
  }, []);
  return (
    <SessionContext.Provider value={{ me, problem, skewMs, refresh, signedIn, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === undefined) throw new Error('useSession outside SessionProvider');
  return state;
}

/**
 * A stable id for this browser, sent as the login's device report so a sign-in from a new browser is told and
 * its first withdrawals wait (the new-device rule). It is an identifier, not a secret: localStorage is fine for it.
 */
export function deviceId(): string {
  const key = 'drawbridge.device';
  let id = localStorage.getItem(key);
  if (id === null) {
    id = crypto.randomUUID();
    localStorage.setItem(key, id);
  }
  return id;
}
