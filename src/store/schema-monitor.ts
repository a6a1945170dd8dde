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
  monitor_verdicts: MonitorVerdictsTable;
  monitor_proof_uses: MonitorProofUsesTable;
  monitor_findings: MonitorFindingsTable;
}
