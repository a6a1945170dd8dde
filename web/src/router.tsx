import {
  type AnchorHTMLAttributes,
  type MouseEvent,
  type ReactElement,
  useEffect,
  useSyncExternalStore,
} from 'react';

/** A small history router: the console has a handful of pages, matched by pattern in each area's route table. */
const listeners = new Set<() => void>();

function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, () => location.pathname + location.search);
  const url = new URL(href, location.origin);
  return { path: url.pathname, query: url.searchParams };
}

/** A page's route: a pattern such as `/withdrawals/:id`, its page, and (optionally) its entry in the navigation. */
export interface Route {
  readonly pattern: string;
  readonly render: (params: Readonly<Record<string, string>>) => ReactElement;
  readonly nav?: string;
  readonly title: string;
}

export function match(routes: readonly Route[], path: string) {
  for (const route of routes) {
    const want = route.pattern.split('/');
    const got = path.replace(/\/+$/, '').split('/');
    if (route.pattern === '/' && (path === '/' || path === '')) return { route, params: {} };
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((part, index) => {
      const value = got[index] ?? '';
      if (part.startsWith(':')) {
        // A broken escape (a mistyped link) is no page: "not found", never a crash.
        try {
          params[part.slice(1)] = decodeURIComponent(value);
        } catch {
          ok = false;
        }
      } else if (part !== value) ok = false;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

/** A link that moves within the console without a reload (Enter and click alike). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const { to, onClick, ...rest } = props;
  return (
    <a
      {...rest}
      href={to}
      onClick={(event: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(event);
        if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0)
          return;
        event.preventDefault();
        navigate(to);
      }}
    />
  );
}

export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

/** An area's navigation: the routes with a `nav` label, the current one marked for assistive technology. */
export function RouteNav({ routes, label }: { routes: readonly Route[]; label: string }) {
  const { path } = useLocation();
  return (
    <nav aria-label={label}>
      <ul>
        {routes
          .filter((r) => r.nav !== undefined)
          .map((r) => (
            <li key={r.pattern}>
              <Link to={r.pattern} aria-current={path === r.pattern ? 'page' : undefined}>
                {r.nav}
              </Link>
            </li>
          ))}
      </ul>
    </nav>
  );
}
