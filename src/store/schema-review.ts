/** Row types of the review approvals, alerts and cases (migrations 0040, 0041 and 0042). */

export interface ReviewApprovalsTable {
  id: string;
  withdrawal_id: string;
  /** Which time the withdrawal entered held_for_review (1 the first time): each hold needs its own approvals. */
  hold_round: number;
  operator_id: string;
  reason: string;
  at: string;
}

export type AlertSeverity = 'info' | 'warning' | 'critical';
export type AlertState = 'open' | 'acknowledged' | 'resolved';
export type AlertResolutionKind = 'true_positive' | 'false_positive' | 'duplicate' | 'benign';

export interface AlertsTable {
  id: string;
  kind: string;
  severity: AlertSeverity;
  fingerprint: string;
  title: string;
  /** JSON object. */
  details: string;
  /** What it is about, such as "withdrawal:<id>". */
  subject: string | null;
  state: AlertState;
  resolution_kind: AlertResolutionKind | null;
  resolution_note: string | null;
  opened_at: string;
  last_seen_at: string;
  occurrences: number;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
}

export type CaseStatus = 'open' | 'investigating' | 'closed';
export type CaseEventKind = 'opened' | 'alert_linked' | 'withdrawal_linked' | 'note' | 'status_changed';

export interface CasesTable {
  id: string;
  title: string;
  status: CaseStatus;
  opened_by: string;
  opened_at: string;
  updated_at: string;
  closed_by: string | null;
  closed_at: string | null;
}

/** Append-only (triggers refuse UPDATE and DELETE). */
export interface CaseEventsTable {
  id: string;
  case_id: string;
  at: string;
  actor: string;
  kind: CaseEventKind;
  /** "alert:<id>" or "withdrawal:<id>" for a link; null otherwise. */
  subject: string | null;
  note: string | null;
  from_status: CaseStatus | null;
  to_status: CaseStatus | null;
}

export interface ReviewSchema {
  review_approvals: ReviewApprovalsTable;
  alerts: AlertsTable;
  cases: CasesTable;
  case_events: CaseEventsTable;
}
