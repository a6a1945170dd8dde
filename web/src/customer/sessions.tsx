import { api, call } from '../api.ts';
import { ProblemNotice, useAction, useLoad, when } from '../ui.tsx';

interface SessionRow {
  readonly id: string;
  readonly current: boolean;
  readonly aal: number;
  readonly device_id: string | null;
  readonly ip: string;
  readonly user_agent: string;
  readonly created_at: string;
  readonly last_seen_at: string;
  readonly ended_at: string | null;
  readonly ended_reason: string | null;
}

interface Device {
  readonly id: string;
  readonly platform: string;
  readonly user_agent: string;
  readonly integrity: string;
  readonly first_seen_at: string;
  readonly last_seen_at: string;
}

export function SessionsPage() {
  const list = useLoad(
    async () =>
      (await call(api.GET('/v1/account/sessions', {}))) as { sessions: SessionRow[]; devices: Device[] },
    [],
    10_000,
  );
  const act = useAction();
  const active = list.data?.sessions.filter((s) => s.ended_at === null) ?? [];
  return (
    <main id="main" className="page">
      <h1>Sessions and devices</h1>
      <ProblemNotice problem={list.problem ?? act.problem} />
      <h2>Signed in now</h2>
      <ul className="list">
        {active.map((s) => (
          <li key={s.id}>
            <strong>{s.current ? 'This browser' : s.user_agent.slice(0, 80)}</strong>{' '}
            <span className="hint">
              from {s.ip}, since {when(s.created_at)}, last seen {when(s.last_seen_at)}
            </span>{' '}
            {!s.current && (
              <button
                type="button"
                className="link"
                disabled={act.busy}
                onClick={() =>
                  void act.run(async () => {
                    await call(api.DELETE('/v1/account/sessions/{id}', { params: { path: { id: s.id } } }));
                    list.reload();
                  })
                }
              >
                End this session
              </button>
            )}
          </li>
        ))}
      </ul>
      {active.length > 1 && (
        <button
          type="button"
          disabled={act.busy}
          onClick={() =>
            void act.run(async () => {
              await call(api.POST('/v1/account/sessions/end-others', {}));
              list.reload();
            })
          }
        >
          Sign out everywhere else
        </button>
      )}
      <h2>Devices that signed in</h2>
      <ul className="list">
        {list.data?.devices.map((d) => (
          <li key={d.id}>
            <strong>{d.platform}</strong> {d.user_agent.slice(0, 80)}{' '}
            <span className="hint">
              first seen {when(d.first_seen_at)}, integrity {d.integrity}
            </span>
          </li>
        ))}
      </ul>
    </main>
  );
}
