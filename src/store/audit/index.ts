export { appendAudit, journalInsert, recordAudit } from './append-audit.ts';
export {
  AUDIT_LIMITS,
  type AuditEntry,
  type AuditEntryInput,
  type AuditJournalEntry,
} from './audit-entry.ts';
export {
  AUDIT_APPEND_LOCK_KEY,
  blockedJournalEntries,
  findSealed,
  sealAudit,
  unsealedCount,
} from './seal-audit.ts';
export { type AuditFilter, type AuditRow, searchAudit } from './search-audit.ts';
export {
  AUDIT_VERIFY_PAGE_ROWS,
  type AuditBreakReason,
  type AuditChainReport,
  type AuditHead,
  readAuditHead,
  verifyAuditChain,
  verifyAuditChainFrom,
} from './verify-audit-chain.ts';
