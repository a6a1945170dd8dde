import { lazy, type ReactElement, Suspense, useEffect } from 'react';
import { customerRoutes, publicRoutes } from './customer/routes.tsx';
import { Link, match, type Route, RouteNav, useLocation } from './router.tsx';
import { useSession } from './session.tsx';
import { SessionUnavailable } from './session-unavailable.tsx';
import { PageBoundary } from './ui.tsx';

/** The operator's pages (and their charting library) load only when an operator opens /operator. */
const OperatorApp = lazy(() => import('./operator/app.tsx').then((m) => ({ default: m.OperatorApp })));

/**
 * Two areas share one page: the customer's (/, /withdraw, ...) and the operator's (/operator/...). Each area has
 * a route table; a page reachable signed out (sign-up, email links, the dev mailbox) is in publicRoutes.
 */
export function App() {
  const { path } = useLocation();
  if (path === '/operator' || path.startsWith('/operator/'))
    return (
      <PageBoundary key="operator">
        <Suspense fallback={<Loading />}>
          <OperatorApp />
        </Suspense>
      </PageBoundary>
    );
  const found = match(publicRoutes, path);
  if (found !== undefined) return <Page route={found.route} params={found.params} area="public" />;
  return <CustomerArea />;
}

function CustomerArea() {
  const { path } = useLocation();
  const { me, problem } = useSession();
  if (me === undefined) return <Loading />;
  const found = match(customerRoutes, path);
  if (me === null && problem !== undefined)
    return (
      <PublicFrame>
        <SessionUnavailable />
      </PublicFrame>
    );
  if (me === null || me.kind !== 'customer') {
    const login = match(publicRoutes, '/login');
    return login === undefined ? null : <Page route={login.route} params={{}} area="public" />;
  }
  if (found === undefined) return <NotFound />;
  return <Page route={found.route} params={found.params} area="customer" />;
}

export function Loading() {
  return (
    <p className="loading" aria-live="polite">
      Loading…
    </p>
  );
}

export function NotFound() {
  return (
    <main id="main" className="page narrow">
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/">Go to your overview</Link>.
      </p>
    </main>
  );
}

function Page({
  route,
  params,
  area,
}: {
  route: Route;
  params: Record<string, string>;
  area: 'public' | 'customer';
}) {
  useEffect(() => {
    document.title = `${route.title} · Drawbridge`;
  }, [route.title]);
  const { path } = useLocation();
  const page = <PageBoundary key={path}>{route.render(params)}</PageBoundary>;
  if (area === 'public') return <PublicFrame>{page}</PublicFrame>;
  return <CustomerFrame>{page}</CustomerFrame>;
}

function PublicFrame({ children }: { children: ReactElement }) {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Drawbridge
        </Link>
      </header>
      {children}
    </>
  );
}

function CustomerFrame({ children }: { children: ReactElement }) {
  const { me, signOut } = useSession();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Drawbridge
        </Link>
        <RouteNav routes={customerRoutes} label="Your account" />
        <button type="button" className="link signout" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <AntiPhishingBanner code={me?.anti_phishing_code ?? null} aal={me?.aal ?? 0} email={me?.email ?? ''} />
      {children}
    </>
  );
}

/** Every page a customer acts on shows their anti-phishing code, as every email does. */
/** The code comes only to a second-factor session: a password-only one shows no banner (it cannot tell). */
function AntiPhishingBanner({ code, aal, email }: { code: string | null; aal: number; email: string }) {
  if (code === null && aal < 2) return null;
  return (
    <aside className="antiphishing" aria-label="Anti-phishing code">
      {code === null ? (
        <span>
          No anti-phishing code yet: <Link to="/security#anti-phishing">set one</Link>, and every genuine
          Drawbridge page and email will show it here.
        </span>
      ) : (
        <span>
          Your anti-phishing code: <strong data-testid="anti-phishing-code">{code}</strong>. If a page or
          email does not show it, it is not from us.
        </span>
      )}
      <span className="who">{email}</span>
    </aside>
  );
}
