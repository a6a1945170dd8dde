import type { Generated } from 'kysely';

/** Every TOTP step claimed, per account (migration 0023). */
export interface TotpClaimsTable {
  principal_id: string;
  /** BIGINT: PostgreSQL returns it as a string, SQLite as a number. */
  step: string | number;
  /** What it was used for: "login", "step_up:<action>", "enrol:<factor>", "withdrawal:<id>". */
  purpose: string;
  factor_id: string;
  session_id: string | null;
  ip: string | null;
  claimed_at: string;
}

/** Filled by trigger on the withdrawals table (migration 0024); the monitor deletes what it checked. */
export interface MonitorFeedTable {
  seq: Generated<string | number>;
  withdrawal_id: string;
  state: string;
  at: string;
}

/** Filled by trigger on ledger_transfers and ledger_accounts (migration 0041); the monitor deletes what it summed. */
export interface MonitorLedgerFeedTable {
  seq: Generated<string | number>;
  entry: 'transfer' | 'account';
  /** The transfer's id, or the account's. */
  ref: string;
  asset: string;
  transfer_kind: 'posted' | 'pending' | 'post_pending' | 'void_pending' | null;
  debit_account_id: string | null;
  credit_account_id: string | null;
  amount: string | null;
  /** An account's posted debits, posted credits, pending debits, pending credits, comma-separated. */
  old_totals: string | null;
  new_totals: string | null;
  at: string;
}

/** Filled by trigger on simulated_chain_txs (migration 0041): every payment the chain carried. */
export interface MonitorChainFeedTable {
  seq: Generated<string | number>;
  txid: string;
  withdrawal_id: string;
  network: string;
  destination: string;
  amount: string;
  at: string;
}

export interface MonitorVerdictsTable {
  withdrawal_id: string;
  verdict: 'approve' | 'reject';
  /** The signed statement, canonical JSON. */
  statement: string;
  signature: string;
  key_id: string;
  at: string;
}

export interface MonitorProofUsesTable {
  token: string;
  withdrawal_id: string;
  at: string;
}

export interface MonitorFindingsTable {
  id: string;
  withdrawal_id: string;
  check_name: string;
  severity: 'warning' | 'critical';
  detail: string;
  at: string;
}

export interface FactorRemovalsTable {
  factor_id: string;
  removed_at: string;
}

export interface MonitorSchema {
  factor_removals: FactorRemovalsTable;
  totp_claims: TotpClaimsTable;
  monitor_feed: MonitorFeedTable;
  monitor_ledger_feed: MonitorLedgerFeedTable;
  monitor_chain_feed: MonitorChainFeedTable;
  monitor_verdicts: MonitorVerdictsTable;
  monitor_proof_uses: MonitorProofUsesTable;
  monitor_findings: MonitorFindingsTable;
}
