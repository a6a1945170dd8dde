import { auditEntryHash, GENESIS_PREV_HASH, type JsonObject } from '../../core/audit-hash.ts';
import { assert } from '../../core/errors.ts';
import type { Database } from '../database.ts';
import type { AuditLogTable } from '../schema.ts';
import { seqFromRow } from './audit-entry.ts';

export type AuditBreakReason = 'hash mismatch' | 'prev_hash does not link' | 'sequence gap';

export type AuditChainReport =
  | { readonly ok: true; readonly entries: number; readonly head_hash: string }
  | {
      readonly ok: false;
      /** Entries verified intact before the first broken one. */
      readonly entries_checked: number;
      readonly first_broken: { readonly seq: number; readonly id: string; readonly reason: AuditBreakReason };
    };

export const AUDIT_VERIFY_PAGE_ROWS = 1000;
// 10^7 pages of 1000 rows: a bound far past any real chain, so a bug cannot loop forever.
const MAX_PAGES = 10_000_000;

/**
 * Walks the whole chain in seq order, in pages (keyset on seq, so memory stays bounded), recomputing
 * every hash and link. It stops at the first broken entry.
 *
 * What the chain alone cannot show: removing the last entries (or all of them) leaves a shorter chain
 * that is perfectly valid. Only a head anchored outside the database (`drawbridge audit head`, copied
 * to a log shipper, a ticket or a transparency log, and compared later) catches a truncation.
 *
 * The pages are separate statements, not one snapshot. That is sound because appends commit in seq
 * order (they are serialised until commit) and rows are never legitimately changed: a page never sees
 * seq n + 1 without n. An entry appended during the walk is simply verified too.
 */
export async function verifyAuditChain(
  database: Database,
  options: { readonly page_rows?: number } = {},
): Promise<AuditChainReport> {
  const page_rows = options.page_rows ?? AUDIT_VERIFY_PAGE_ROWS;
  assert(Number.isSafeInteger(page_rows) && page_rows >= 1 && page_rows <= 10_000, 'page_rows in 1..10000');
  let checked = 0;
  let prev_hash = GENESIS_PREV_HASH;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    // Every row so far was contiguous from 1, so the last one seen is seq `checked`.
    const rows = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', checked)
      .orderBy('seq', 'asc')
      .limit(page_rows)
      .execute();
    for (const row of rows) {
      const seq = seqFromRow(row.seq);
      const reason = checkEntry(row, seq, checked + 1, prev_hash);
      if (reason !== undefined) {
        return { ok: false, entries_checked: checked, first_broken: { seq, id: row.id, reason } };
      }
      checked += 1;
      prev_hash = row.hash;
    }
    if (rows.length < page_rows) return { ok: true, entries: checked, head_hash: prev_hash };
  }
  assert(false, `audit chain longer than ${MAX_PAGES} pages`);
}

/**
 * The chain from a verified entry on (`from`: its seq and hash; seq 0 and GENESIS_PREV_HASH for the start), at
 * most `max_entries` further: what the monitor runs each sweep, keeping the last verified head in its own memory
 * (a head kept in the database could be moved by whoever can write it). At the bound the walk stops, intact so
 * far, and the next call goes on from the head it answers.
 */
export async function verifyAuditChainFrom(
  database: Database,
  from: AuditHead,
  max_entries: number,
): Promise<
  | { readonly ok: true; readonly head: AuditHead; readonly checked: number }
  | {
      readonly ok: false;
      readonly first_broken: { readonly seq: number; readonly id: string; readonly reason: AuditBreakReason };
    }
> {
  assert(Number.isSafeInteger(max_entries) && max_entries >= 1, 'max_entries is a positive integer');
  let { seq: last, hash: prev_hash } = from;
  let checked = 0;
  while (checked < max_entries) {
    const rows = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', last)
      .orderBy('seq', 'asc')
      .limit(Math.min(AUDIT_VERIFY_PAGE_ROWS, max_entries - checked))
      .execute();
    for (const row of rows) {
      const seq = seqFromRow(row.seq);
      const reason = checkEntry(row, seq, last + 1, prev_hash);
      if (reason !== undefined) return { ok: false, first_broken: { seq, id: row.id, reason } };
      last = seq;
      prev_hash = row.hash;
      checked += 1;
    }
    if (rows.length === 0) break;
  }
  return { ok: true, head: { seq: last, hash: prev_hash }, checked };
}

function checkEntry(
  row: AuditLogTable,
  seq: number,
  expected_seq: number,
  prev_hash: string,
): AuditBreakReason | undefined {
  if (seq !== expected_seq) return 'sequence gap';
  if (row.prev_hash !== prev_hash) return 'prev_hash does not link';
  const data = parseData(row.data);
  if (data === undefined) return 'hash mismatch';
  let recomputed: string;
  try {
    recomputed = auditEntryHash({
      seq,
      id: row.id,
      at: row.at,
      actor: row.actor,
      action: row.action,
      subject: row.subject,
      data,
      prev_hash: row.prev_hash,
    });
  } catch {
    // Text that has no canonical form (a lone surrogate) was never written by appendAudit.
    return 'hash mismatch';
  }
  return recomputed === row.hash ? undefined : 'hash mismatch';
}

function parseData(text: string): JsonObject | undefined {
  try {
    const data: unknown = JSON.parse(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
    return data as JsonObject;
  } catch {
    return undefined;
  }
}

export interface AuditHead {
  /** 0 and 64 zeros when the chain is empty. */
  readonly seq: number;
  readonly hash: string;
}

/** The newest entry's seq and hash: the value to anchor outside the database. */
export async function readAuditHead(database: Database): Promise<AuditHead> {
  const head = await database.db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (head === undefined) return { seq: 0, hash: GENESIS_PREV_HASH };
  return { seq: seqFromRow(head.seq), hash: head.hash };
}
