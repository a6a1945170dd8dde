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

export interface IncidentsSchema {
  incidents: IncidentsTable;
  incident_withdrawals: IncidentWithdrawalsTable;
}
