import { toTimestamp } from '../../core/clock.ts';
import { newId } from '../../core/ids.ts';
import { compiledInsert } from '../compiled-query.ts';
import type { Database } from '../database.ts';
import { inTransaction, type Tx, writeBehind } from '../transaction.ts';
import {
  type AuditEntry,
  type AuditEntryInput,
  type AuditJournalEntry,
  checkAuditEntry,
} from './audit-entry.ts';
import { findSealed, sealAudit } from './seal-audit.ts';

const insertJournal = compiledInsert('audit_journal', ['id', 'at', 'actor', 'action', 'subject', 'data']);

/**
 * Records one entry inside the caller's transaction, so the event and its audit entry commit (or roll back)
 * together. It goes to the audit journal: one insert, no lock and no read of the chain's head, so audited
 * actions on any number of nodes never queue behind one another. The sealer chains journal entries into
 * audit_log shortly after (every node runs it; `drawbridge audit verify` and `head` seal first).
 */
export async function appendAudit(tx: Tx, entry: AuditEntryInput): Promise<AuditJournalEntry> {
  const { insert, journaled } = journalInsert(tx, entry);
  // Nothing reads the insert's answer: it leaves with the transaction's next statement or its COMMIT.
  await writeBehind(tx, insert);
  return journaled;
}

/** appendAudit's insert, for a caller that sends it with other writes (store/transaction.ts `together`). */
export function journalInsert(tx: Tx, entry: AuditEntryInput) {
  const dataJson = checkAuditEntry(entry);
  const row = {
    id: newId(),
    at: toTimestamp(entry.at),
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    data: dataJson,
  };
  const journaled: AuditJournalEntry = Object.freeze({
    ...row,
    at: new Date(row.at),
    data: Object.freeze(JSON.parse(dataJson)),
  });
  return { insert: insertJournal.statement(tx, row), journaled };
}

/**
 * A security event with no other write: its own transaction around one append, then sealed at once, so the
 * caller gets the entry as it stands in the chain.
 */
export async function recordAudit(database: Database, entry: AuditEntryInput): Promise<AuditEntry> {
  const journaled = await inTransaction(database, (tx) => appendAudit(tx, entry));
  await sealAudit(database);
  const sealed = await findSealed(database, journaled.id);
  if (sealed === undefined) throw new Error(`audit entry ${journaled.id} was not sealed`);
  return sealed;
}
