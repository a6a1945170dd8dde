import type { Generated } from 'kysely';
import type { AddressBookSchema } from './schema-address-book.ts';
import type { IdentitySchema } from './schema-identity.ts';
import type { IncidentsSchema } from './schema-incidents.ts';
import type { MonitorSchema } from './schema-monitor.ts';
import type { NotificationsSchema } from './schema-notifications.ts';
import type { ReimbursementsSchema } from './schema-reimbursements.ts';
import type { ReviewSchema } from './schema-review.ts';
import type { WithdrawalSchema } from './schema-withdrawals.ts';

/**
 * Row types as Kysely sees them. Amounts are decimal strings of base units (TEXT on SQLite,
 * NUMERIC(40,0) on PostgreSQL) and timestamps ISO-8601 UTC strings, so both engines return the same
 * shapes. Each aggregate's module converts to bigint and Date at its edge.
 */
export interface PricePointsTable {
  asset: string;
  at: string;
  usd_price: string;
  source: string;
}

export interface LedgerAccountsTable {
  id: string;
  owner_id: string;
  asset: string;
  kind: string;
  debits_must_not_exceed_credits: number;
  posted_debits: string;
  posted_credits: string;
  pending_debits: string;
  pending_credits: string;
  created_at: string;
}

export interface LedgerTransfersTable {
  id: string;
  kind: 'posted' | 'pending' | 'post_pending' | 'void_pending';
  debit_account_id: string;
  credit_account_id: string;
  asset: string;
  amount: string;
  pending_id: string | null;
  code: string;
  reference: string | null;
  created_at: string;
}

/** Hash-chained and append-only; see src/store/audit and src/core/audit-hash.ts. */
/** Entries appended by business transactions, waiting for the sealer to chain them into audit_log. */
export interface AuditJournalTable {
  /** Append order (BIGSERIAL / INTEGER PRIMARY KEY): the order the sealer chains them in. */
  n: Generated<string | number>;
  id: string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  data: string;
}

export interface AuditLogTable {
  /** BIGINT: PostgreSQL returns it as a string, SQLite as a number. */
  seq: string | number;
  id: string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: string;
}

export interface Schema
  extends IdentitySchema,
    AddressBookSchema,
    WithdrawalSchema,
    NotificationsSchema,
    MonitorSchema,
    ReviewSchema,
    IncidentsSchema,
    ReimbursementsSchema {
  price_points: PricePointsTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_transfers: LedgerTransfersTable;
  audit_log: AuditLogTable;
  audit_journal: AuditJournalTable;
  idempotency_keys: IdempotencyKeysTable;
}
