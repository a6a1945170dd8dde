import { sql } from 'kysely';
import { auditEntryHash, GENESIS_PREV_HASH, type JsonObject } from '../../core/audit-hash.ts';
import type { Database } from '../database.ts';
import { inTransaction } from '../transaction.ts';
import { type AuditEntry, seqFromRow } from './audit-entry.ts';

/**
 * The PostgreSQL advisory lock that serialises sealing: "dbaudit1" in ASCII as a bigint, so it cannot
 * collide with a small key another module picks.
 */
export const AUDIT_APPEND_LOCK_KEY = 7233451108334138417n;

const SEAL_BATCH = 500;

/**
 * Moves journal entries into the hash chain, oldest first: each gets the next gapless seq and the hash that
 * links it to the entry before. One sealer at a time across every node:
 * - SQLite: `inTransaction` starts with BEGIN IMMEDIATE, so the head read cannot change before the commit.
 * - PostgreSQL: `pg_advisory_xact_lock`, taken before the head is read and held until commit. (SELECT ...
 *   FOR UPDATE on the head row is not enough under READ COMMITTED: a waiter re-checks only the row it
 *   found, not the new head, and would compute the same seq; the seq primary key would stop it, the lock
 *   keeps it from trying.)
 * Journal rows committed out of their `n` order on PostgreSQL are simply sealed by a later batch: the chain's
 * order is the order of sealing. Returns how many entries were sealed.
 */
export async function sealAudit(database: Database): Promise<number> {
  let sealed = 0;
  for (;;) {
    const batch = await inTransaction(database, async (tx) => {
      if (database.engine === 'postgres') {
        await sql`select pg_advisory_xact_lock(${sql.raw(AUDIT_APPEND_LOCK_KEY.toString())})`.execute(tx);
      }
      const pending = await tx
        .selectFrom('audit_journal')
        .selectAll()
        .orderBy('n', 'asc')
        .limit(SEAL_BATCH)
        .execute();
      if (pending.length === 0) return 0;
      const head = await tx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      let seq = head === undefined ? 0 : seqFromRow(head.seq);
      let prev_hash = head === undefined ? GENESIS_PREV_HASH : head.hash;
      const rows = pending.map((entry) => {
        seq += 1;
        const fields = {
          seq,
          id: entry.id,
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          subject: entry.subject,
        };
        // Hash what verification will read back: the data parsed from its stored canonical text.
        const hash = auditEntryHash({ ...fields, data: JSON.parse(entry.data) as JsonObject, prev_hash });
        const row = { ...fields, data: entry.data, prev_hash, hash };
        prev_hash = hash;
        return row;
      });
      await tx.insertInto('audit_log').values(rows).execute();
      await tx
        .deleteFrom('audit_journal')
        .where(
          'n',
          'in',
          pending.map((entry) => entry.n),
        )
        .execute();
      return rows.length;
    });
    sealed += batch;
    if (batch < SEAL_BATCH) return sealed;
  }
}

/** How many entries wait in the journal: a number that stays near zero while the sealer runs. */
export async function unsealedCount(database: Database): Promise<number> {
  const row = await database.db
    .selectFrom('audit_journal')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function findSealed(database: Database, id: string): Promise<AuditEntry | undefined> {
  const row = await database.db.selectFrom('audit_log').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  return Object.freeze({
    seq: seqFromRow(row.seq),
    id: row.id,
    at: new Date(row.at),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    data: Object.freeze(JSON.parse(row.data) as JsonObject),
    prev_hash: row.prev_hash,
    hash: row.hash,
  });
}
