import type { SealedEntry } from './audit/seal-audit.ts';
import type { Tx } from './transaction.ts';

/**
 * What an incident report reads besides its losses and reimbursements: the audit entries, alerts and halts of the
 * incident. Each read is bounded; the report says when a bound was reached (`truncated`), it never hides that.
 */

/** The playbook's audit entries carry the incident id in their data (a convention of every playbook action). */
function incidentPattern(incidentId: string): string {
  // A UUID holds no LIKE wildcard; the data is canonical JSON (no spaces), so this matches the key and value only.
  return `%"incident_id":"${incidentId}"%`;
}

export interface IncidentAuditEntry extends Omit<SealedEntry, 'seq'> {
  /** False for an entry still in the journal, not yet chained by the sealer. */
  readonly sealed: boolean;
}

/**
 * The audit entries whose data carries `incidentId`, sealed and not yet sealed, oldest first, at most `limit` (a
 * scan of the data text: the report is rare and reads one incident).
 */
export async function incidentAuditEntries(
  tx: Tx,
  incidentId: string,
  limit: number,
): Promise<IncidentAuditEntry[]> {
  const pattern = incidentPattern(incidentId);
  const sealed = await tx
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'action', 'subject', 'data'])
    .where('data', 'like', pattern)
    .orderBy('seq')
    .limit(limit)
    .execute();
  const journal = await tx
    .selectFrom('audit_journal')
    .select(['id', 'at', 'actor', 'action', 'subject', 'data'])
    .where('data', 'like', pattern)
    .orderBy('n')
    .limit(limit)
    .execute();
  const seen = new Set(sealed.map((e) => e.id));
  return [
    ...sealed.map((e) => ({ ...e, sealed: true })),
    ...journal.filter((e) => !seen.has(e.id)).map((e) => ({ ...e, sealed: false })),
  ];
}

/** The incident's own alert and every alert whose details carry its id, oldest first, at most `limit`. */
export async function incidentAlerts(tx: Tx, incidentId: string, alertId: string | null, limit: number) {
  return tx
    .selectFrom('alerts')
    .select([
      'id',
      'kind',
      'severity',
      'title',
      'subject',
      'state',
      'opened_at',
      'resolved_at',
      'resolved_by',
    ])
    .where((eb) =>
      alertId === null
        ? eb('details', 'like', incidentPattern(incidentId))
        : eb.or([eb('id', '=', alertId), eb('details', 'like', incidentPattern(incidentId))]),
    )
    .orderBy('opened_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * The halts of the incident: those whose reason names it, and every global or asset halt set between `from` and
 * `until` (the monitor halts before anyone opens an incident). Oldest first, at most `limit`.
 */
export async function incidentHalts(tx: Tx, incidentId: string, from: string, until: string, limit: number) {
  return tx
    .selectFrom('halts')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('reason', 'like', `%${incidentId}%`),
        eb.and([
          eb('scope', 'in', ['global', 'asset']),
          eb('created_at', '>=', from),
          eb('created_at', '<=', until),
        ]),
      ]),
    )
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}
