import { useState } from 'react';
import { api, call } from '../api.ts';
import { Actor, Field, ProblemNotice, ShortId, useLoad, when } from '../ui.tsx';

interface Entry {
  readonly id: string;
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly actor_email: string | null;
  readonly action: string;
  readonly subject: string | null;
  readonly data: Record<string, unknown> | null;
  readonly hash: string;
}

interface Filters {
  action: string;
  actor: string;
  subject: string;
  from: string;
  until: string;
}

const EMPTY: Filters = { action: '', actor: '', subject: '', from: '', until: '' };

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [pages, setPages] = useState<string[]>([]);
  const after = pages.at(-1);
  const log = useLoad(
    async () => {
      const query: Record<string, string> = { limit: '50' };
      for (const [key, value] of Object.entries(filters)) {
        if (value === '') continue;
        query[key] = key === 'from' || key === 'until' ? new Date(value).toISOString() : value;
      }
      if (after !== undefined) query.starting_after = after;
      return (await call(api.GET('/v1/operator/audit', { params: { query: query as never } }))) as {
        entries: Entry[];
        has_more: boolean;
      };
    },
    [filters, after],
    after === undefined ? 5000 : undefined,
  );
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [key]: event.target.value });
  return (
    <main id="main" className="page wide">
      <h1>Audit log</h1>
      <p className="hint">Sealed, hash-chained entries, newest first.</p>
      <form
        className="inline filters"
        onSubmit={(event) => {
          event.preventDefault();
          setPages([]);
          setFilters(draft);
        }}
      >
        <Field label="Action" hint="exact, or a family: withdrawal.*">
          {(id, hint) => (
            <input id={id} aria-describedby={hint} value={draft.action} onChange={set('action')} />
          )}
        </Field>
        <Field label="Actor" hint="operator:<id>, customer:<id>">
          {(id, hint) => (
            <input id={id} aria-describedby={hint} value={draft.actor} onChange={set('actor')} />
          )}
        </Field>
        <Field label="Subject" hint="withdrawal:<id>">
          {(id, hint) => (
            <input id={id} aria-describedby={hint} value={draft.subject} onChange={set('subject')} />
          )}
        </Field>
        <Field label="From">
          {(id) => <input id={id} type="datetime-local" value={draft.from} onChange={set('from')} />}
        </Field>
        <Field label="Until">
          {(id) => <input id={id} type="datetime-local" value={draft.until} onChange={set('until')} />}
        </Field>
        <button type="submit">Filter</button>
      </form>
      <ProblemNotice problem={log.problem} />
      <table className="audit stack">
        <thead>
          <tr>
            <th scope="col" className="num">
              #
            </th>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {log.data?.entries.map((e) => (
            <tr key={e.id}>
              <td data-label="#" className="num">
                {e.seq}
              </td>
              <td data-label="When">{when(e.at)}</td>
              <td data-label="Actor">
                <Actor actor={e.actor} email={e.actor_email} />
              </td>
              <td data-label="Action">{e.action}</td>
              <td data-label="Subject">{e.subject === null ? '' : <ShortId id={e.subject} />}</td>
              <td data-label="Details">
                <code className="data">{e.data === null ? '' : JSON.stringify(e.data)}</code>
              </td>
            </tr>
          ))}
          {log.data?.entries.length === 0 && (
            <tr>
              <td colSpan={6}>No entry matches.</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="actions">
        {pages.length > 0 && (
          <button type="button" onClick={() => setPages(pages.slice(0, -1))}>
            Newer
          </button>
        )}
        {log.data?.has_more === true && (
          <button type="button" onClick={() => setPages([...pages, log.data?.entries.at(-1)?.id ?? ''])}>
            Older
          </button>
        )}
      </div>
    </main>
  );
}
