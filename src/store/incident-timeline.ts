import { type RawBuilder, sql } from 'kysely';
import { engineOf } from './compiled-query.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';

/** An audit entry that carries an incident id in its data, sealed or still in the journal. */
export interface IncidentAuditRow {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data: string;
  /** False for an entry still in the journal, not yet chained by the sealer. */
  readonly sealed: boolean;
}

function incidentOf(db: Tx): RawBuilder<string> {
  return engineOf(db) === 'postgres'
    ? sql<string>`(data::jsonb ->> 'incident_id')`
    : sql<string>`json_extract(data, '$.incident_id')`;
}

/**
 * The audit entries tagged with `incidentId` at or after `from`, oldest first, at most `limit` from the chain
 * (through its partial index, migration 0045) and at most `limit` from the journal the sealer has not chained yet
 * (a few seconds' worth), without duplicates.
 */
export async function incidentAuditEntries(
  on: Queryable,
  incidentId: string,
  from: string,
  limit: number,
): Promise<IncidentAuditRow[]> {
  const db = queryable(on);
  const tagged = incidentOf(db);
  const sealed = await db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'action', 'subject', 'data'])
    .where(tagged, '=', incidentId)
    .where('at', '>=', from)
    .orderBy('seq')
    .limit(limit)
    .execute();
  const journal = await db
    .selectFrom('audit_journal')
    .select(['id', 'at', 'actor', 'action', 'subject', 'data'])
    .where(tagged, '=', incidentId)
    .where('at', '>=', from)
    .orderBy('n')
    .limit(limit)
    .execute();
  const seen = new Set(sealed.map((r) => r.id));
  return [
    ...sealed.map((r) => ({ ...r, sealed: true })),
    ...journal.filter((r) => !seen.has(r.id)).map((r) => ({ ...r, sealed: false })),
  ];
}

/** Alerts opened in [from, until), oldest first, at most `limit`, plus the one with `alertId` wherever it falls. */
export async function alertsForIncident(
  on: Queryable,
  alertId: string | null,
  from: string,
  until: string | null,
  limit: number,
) {
  let query = queryable(on)
    .selectFrom('alerts')
    .select(['id', 'kind', 'severity', 'title', 'subject', 'opened_at'])
    .orderBy('opened_at')
    .orderBy('id')
    .limit(limit);
  query = query.where((eb) => {
    const inWindow =
      until === null
        ? eb('opened_at', '>=', from)
        : eb.and([eb('opened_at', '>=', from), eb('opened_at', '<', until)]);
    return alertId === null ? inWindow : eb.or([inWindow, eb('id', '=', alertId)]);
  });
  return query.execute();
}
