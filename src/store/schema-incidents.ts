/** Row types of incidents and the withdrawals marked as affected by them (migration 0040). */

export const INCIDENT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
export const INCIDENT_STATUSES = ['open', 'contained', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export const INCIDENT_CLASSIFICATIONS = ['unauthorized', 'suspect', 'legitimate'] as const;
export type IncidentClassification = (typeof INCIDENT_CLASSIFICATIONS)[number];

export interface IncidentsTable {
  id: string;
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  /** The alert it was opened from, if any. */
  alert_id: string | null;
  opened_by: string;
  opened_at: string;
  updated_at: string;
  closed_by: string | null;
  closed_at: string | null;
}

/** One row per (incident, withdrawal). The outcome is read from the withdrawal's state, never stored. */
export interface IncidentWithdrawalsTable {
  incident_id: string;
  withdrawal_id: string;
  account_id: string;
  classification: IncidentClassification;
  /** "operator:<id>" or "monitor". */
  marked_by: string;
  marked_at: string;
  note: string | null;
}

/** One operator's request to lift a set of halts (migration 0045); lifted only once another operator approves. */
export interface IncidentResumeRequestsTable {
  id: string;
  incident_id: string;
  /** "operator:<id>". */
  requested_by: string;
  requested_at: string;
  reason: string;
}

export interface IncidentResumeHaltsTable {
  request_id: string;
  halt_id: string;
}

/** At most one per request; `approved_by` differs from `requested_by` (CHECK), which is the request's (trigger). */
export interface IncidentResumeApprovalsTable {
  request_id: string;
  requested_by: string;
  approved_by: string;
  approved_at: string;
}

export const CONTAINMENT_SCOPES = ['all', 'asset', 'accounts'] as const;
export type ContainmentScope = (typeof CONTAINMENT_SCOPES)[number];

/** A job cancelling every withdrawal not yet released in a scope, batch by batch from `cursor` (migration 0045). */
export interface IncidentContainmentsTable {
  id: string;
  incident_id: string;
  scope: ContainmentScope;
  asset: string | null;
  reason: string;
  status: 'running' | 'done';
  /** The last withdrawal id a committed batch passed; null before the first batch. */
  cursor: string | null;
  cancelled: number;
  batches: number;
  started_by: string;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface IncidentContainmentAccountsTable {
  containment_id: string;
  account_id: string;
}

export interface IncidentsSchema {
  incidents: IncidentsTable;
  incident_withdrawals: IncidentWithdrawalsTable;
  incident_resume_requests: IncidentResumeRequestsTable;
  incident_resume_halts: IncidentResumeHaltsTable;
  incident_resume_approvals: IncidentResumeApprovalsTable;
  incident_containments: IncidentContainmentsTable;
  incident_containment_accounts: IncidentContainmentAccountsTable;
}
