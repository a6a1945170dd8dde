import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { auditDataJson, auditEntryHash, GENESIS_PREV_HASH, type JsonObject } from '../../core/audit-hash.ts';
import { toTimestamp } from '../../core/clock.ts';
import type { Database } from '../database.ts';
import { inTransaction, type Tx, together } from '../transaction.ts';
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
 * order is the order of sealing.
 *
 * An entry whose id a chain row already holds (a row written around the sealer: only someone with write access
 * to the database can) cannot be sealed, and the database will not let its journal row go (migration 0012). It
 * stays in the journal, the rest are sealed past it, and the chain gets one critical `audit.seal_blocked` entry
 * naming it and the row that took its id. Returns how many entries were sealed.
 */
export async function sealAudit(
  database: Database,
  now: () => Date = () => new Date(),
  /** Told each entry once its batch committed, in chain order (the domain log). */
  onSealed?: (entry: SealedEntry) => void,
): Promise<number> {
  let sealed = 0;
  for (;;) {
    let chained: SealedEntry[] = [];
    const batch = await inTransaction(database, async (tx) => {
      if (database.engine === 'postgres') {
        await sql`select pg_advisory_xact_lock(${sql.raw(AUDIT_APPEND_LOCK_KEY.toString())})`.execute(tx);
      }
      const [pendingRows, blockedRows] = await together(
        tx,
        tx
          .selectFrom('audit_journal as j')
          .selectAll('j')
          .where(({ exists, not, selectFrom }) =>
            not(exists(selectFrom('audit_log as l').select('l.seq').whereRef('l.id', '=', 'j.id'))),
          )
          .orderBy('j.n', 'asc')
          .limit(SEAL_BATCH),
        blockedEntriesQuery(tx),
      );
      const pending = pendingRows.rows;
      const blocked = blockedRows.rows;
      const alarms = blocked.map((entry) => sealBlockedAlarm(entry, now()));
      if (pending.length === 0 && alarms.length === 0) return 0;
      const head = await tx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      let seq = head === undefined ? 0 : seqFromRow(head.seq);
      let prev_hash = head === undefined ? GENESIS_PREV_HASH : head.hash;
      const rows = [...alarms, ...pending].map((entry) => {
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
      chained = rows;
      if (pending.length > 0) {
        await tx
          .deleteFrom('audit_journal')
          .where(
            'n',
            'in',
            pending.map((entry) => entry.n),
          )
          .execute();
      }
      return pending.length;
    });
    if (onSealed !== undefined) for (const entry of chained) onSealed(entry);
    sealed += batch;
    if (batch < SEAL_BATCH) return sealed;
  }
}

/** An entry as the chain now holds it (data as its canonical text). */
export interface SealedEntry {
  readonly seq: number;
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data: string;
}

const SEAL_BLOCKED = 'audit.seal_blocked';
/** The alarm's id is derived from the blocked entry's, so "reported already?" is one lookup by id. */
const ALARM_ID_PREFIX = 'seal_blocked:';

/** Journal entries whose id a chain row took, not yet reported by an `audit.seal_blocked` entry. */
function blockedEntriesQuery(tx: Tx) {
  return tx
    .selectFrom('audit_journal as j')
    .innerJoin('audit_log as l', 'l.id', 'j.id')
    .select(['j.id', 'j.at', 'j.actor', 'j.action', 'j.subject', 'j.data', 'l.seq as taken_by_seq'])
    .where(({ exists, not, selectFrom }) =>
      not(
        exists(
          selectFrom('audit_log as a')
            .select('a.seq')
            .whereRef('a.id', '=', sql<string>`${sql.lit(ALARM_ID_PREFIX)} || j.id`),
        ),
      ),
    )
    .orderBy('j.n', 'asc')
    .limit(SEAL_BATCH);
}

/** The chain entry that reports a blocked one; the journal keeps the entry itself. */
function sealBlockedAlarm(
  entry: Awaited<ReturnType<ReturnType<typeof blockedEntriesQuery>['execute']>>[number],
  at: Date,
): { id: string; at: string; actor: string; action: string; subject: string; data: string } {
  const data: JsonObject = {
    severity: 'critical',
    reason: 'a chain row written around the sealer holds this journal entry’s id: it cannot be sealed',
    taken_by_seq: seqFromRow(entry.taken_by_seq),
    entry: {
      id: entry.id,
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      data_sha256: createHash('sha256').update(entry.data, 'utf8').digest('hex'),
    },
  };
  return {
    id: `${ALARM_ID_PREFIX}${entry.id}`,
    at: toTimestamp(at),
    actor: 'system:audit-sealer',
    action: SEAL_BLOCKED,
    subject: `audit_journal:${entry.id}`,
    data: auditDataJson(data),
  };
}

/** Journal entries that cannot be sealed because a chain row holds their id (see sealAudit), oldest first. */
export async function blockedJournalEntries(
  database: Database,
): Promise<{ id: string; taken_by_seq: number }[]> {
  const rows = await database.db
    .selectFrom('audit_journal as j')
    .innerJoin('audit_log as l', 'l.id', 'j.id')
    .select(['j.id', 'l.seq'])
    .orderBy('j.n', 'asc')
    .limit(SEAL_BATCH)
    .execute();
  return rows.map((row) => ({ id: row.id, taken_by_seq: seqFromRow(row.seq) }));
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
