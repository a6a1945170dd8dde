import { sql } from 'kysely';
import { auditEntryHash, GENESIS_PREV_HASH, type JsonObject } from '../../core/audit-hash.ts';
import { toTimestamp } from '../../core/clock.ts';
import { assert } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Database, Engine } from '../database.ts';
import { inTransaction, type Tx } from '../transaction.ts';
import { type AuditEntry, type AuditEntryInput, checkAuditEntry, seqFromRow } from './audit-entry.ts';

/**
 * The PostgreSQL advisory lock that serialises audit appends: "dbaudit1" in ASCII as a bigint, so it
 * cannot collide with a small key another module picks.
 */
export const AUDIT_APPEND_LOCK_KEY = 7233451108334138417n;

/**
 * Appends one entry to the audit chain inside the caller's transaction, so the event and its audit
 * row commit (or roll back) together, and a rolled-back event burns no seq.
 *
 * Serialisation: reading the head and inserting head + 1 must be atomic across every node.
 * - SQLite: `inTransaction` starts with BEGIN IMMEDIATE, so the transaction already holds the single
 *   write lock and the head it reads cannot change before it commits.
 * - PostgreSQL: `pg_advisory_xact_lock`, held until the caller's transaction ends, taken before the
 *   head is read. `SELECT ... ORDER BY seq DESC LIMIT 1 FOR UPDATE` is not enough under READ COMMITTED:
 *   a second appender blocks on the lock of row n, and when the first commits row n + 1, PostgreSQL
 *   only re-checks the row it already found (row n, unchanged) rather than re-running the query, so
 *   the second appender also computes seq n + 1 and fails on the primary key (at worst, without that
 *   constraint, it forks the chain). On an empty table there is not even a row to lock. After the
 *   advisory lock, the next statement takes a fresh snapshot and sees the committed head.
 *   The lock is held until the caller commits, so callers should append their audit entry as the
 *   last step of the transaction. A REPEATABLE READ / SERIALIZABLE caller that read before this
 *   call may see a stale head; it then fails on the primary key rather than forking the chain.
 */
export async function appendAudit(tx: Tx, engine: Engine, entry: AuditEntryInput): Promise<AuditEntry> {
  const dataJson = checkAuditEntry(entry);
  if (engine === 'postgres') {
    // Outside a transaction the xact lock would be released at once and serialise nothing.
    assert(tx.isTransaction, 'appendAudit runs inside the caller transaction (inTransaction)');
    await sql`select pg_advisory_xact_lock(${sql.raw(AUDIT_APPEND_LOCK_KEY.toString())})`.execute(tx);
  }
  const head = await tx
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const seq = head === undefined ? 1 : seqFromRow(head.seq) + 1;
  const prev_hash = head === undefined ? GENESIS_PREV_HASH : head.hash;
  // Hash what verification will read back: the data parsed from its stored canonical text.
  const data = JSON.parse(dataJson) as JsonObject;
  const at = toTimestamp(entry.at);
  const id = newId();
  const fields = { seq, id, at, actor: entry.actor, action: entry.action, subject: entry.subject };
  const hash = auditEntryHash({ ...fields, data, prev_hash });
  await tx
    .insertInto('audit_log')
    .values({ ...fields, data: dataJson, prev_hash, hash })
    .execute();
  return Object.freeze({ ...fields, at: new Date(at), data: Object.freeze(data), prev_hash, hash });
}

/** For a security event with no other write: its own transaction around one append. */
export function recordAudit(database: Database, entry: AuditEntryInput): Promise<AuditEntry> {
  return inTransaction(database, (tx) => appendAudit(tx, database.engine, entry));
}
