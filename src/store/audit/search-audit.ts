import type { Database } from '../database.ts';
import type { SealedEntry } from './seal-audit.ts';

/** What the sealed audit log may be searched by; every field narrows. */
export interface AuditFilter {
  /** An exact action ("halt.set"), or a family ending in ".*" ("withdrawal.*"). */
  readonly action?: string | undefined;
  readonly actor?: string | undefined;
  readonly subject?: string | undefined;
  /** At or after (ISO-8601). */
  readonly from?: string | undefined;
  /** Before (ISO-8601). */
  readonly until?: string | undefined;
}

/** A sealed entry as the chain holds it, with its hash. */
export interface AuditRow extends SealedEntry {
  readonly hash: string;
}

/**
 * Sealed entries matching `filter`, newest first: `limit` rows before the entry `startingAfter` (an entry id of the
 * page before). Returns undefined when `startingAfter` names no sealed entry. Entries still in the journal (the
 * sealer chains them within a second) are not listed yet.
 */
export async function searchAudit(
  database: Database,
  filter: AuditFilter,
  limit: number,
  startingAfter: string | undefined,
): Promise<AuditRow[] | undefined> {
  const db = database.db;
  let query = db
    .selectFrom('audit_log')
    .select(['seq', 'id', 'at', 'actor', 'action', 'subject', 'data', 'hash']);
  if (startingAfter !== undefined) {
    const last = await db
      .selectFrom('audit_log')
      .select('seq')
      .where('id', '=', startingAfter)
      .executeTakeFirst();
    if (last === undefined) return undefined;
    query = query.where('seq', '<', last.seq);
  }
  if (filter.action !== undefined) {
    query = filter.action.endsWith('.*')
      ? query
          .where('action', '>=', filter.action.slice(0, -1))
          .where('action', '<', `${filter.action.slice(0, -2)}/`)
      : query.where('action', '=', filter.action);
  }
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
  if (filter.subject !== undefined) query = query.where('subject', '=', filter.subject);
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  if (filter.until !== undefined) query = query.where('at', '<', filter.until);
  const rows = await query.orderBy('seq', 'desc').limit(limit).execute();
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}
