import { useEffect } from 'react';
import { LoginForm } from '../login-form.tsx';
import { Link, match, navigate, RouteNav, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { SessionUnavailable } from '../session-unavailable.tsx';
import { PageBoundary } from '../ui.tsx';
import { operatorRoutes } from './routes.tsx';

/** The operator's console under /operator: a sign-in, then the pages of operatorRoutes with their navigation. */
export function OperatorApp() {
  const { me, problem, signOut } = useSession();
  const { path } = useLocation();
  const found = match(operatorRoutes, path);
  useEffect(() => {
    document.title = `${found?.route.title ?? 'Operator'} · Drawbridge operators`;
  }, [found?.route.title]);
  if (me === undefined) return <p className="loading">Loading…</p>;
  if (me === null && problem !== undefined) return <SessionUnavailable />;
  if (me === null || me.kind !== 'operator') return <OperatorLogin />;
  return (
    <div className="operator">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar operator-bar">
        <Link to="/operator" className="brand">
          Drawbridge <span className="area">operators</span>
        </Link>
        <RouteNav routes={operatorRoutes} label="Operator pages" />
        <span className="who">
          {me.email} ({me.role})
        </span>
        <button
          type="button"
          className="link signout"
          onClick={() =>
            void signOut().then(() => {
              navigate('/operator');
            })
          }
        >
          Sign out
        </button>
      </header>
      {found === undefined ? (
        <main id="main" className="page">
          <h1>Page not found</h1>
          <p>
            <Link to="/operator">Back to the dashboard</Link>
          </p>
        </main>
      ) : (
        <PageBoundary key={path}>{found.route.render(found.params)}</PageBoundary>
      )}
    </div>
  );
}

function OperatorLogin() {
  return (
    <>
      <header className="topbar operator-bar">
        <span className="brand">
          Drawbridge <span className="area">operators</span>
        </span>
      </header>
      <main id="main" className="page narrow">
        <h1>Operator sign-in</h1>
        <LoginForm kind="operator" onSignedIn={() => navigate(location.pathname)} />
        <p>
          Customers sign in at <Link to="/login">/login</Link>.
        </p>
      </main>
    </>
  );
}
