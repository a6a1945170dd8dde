/** Row types of incident reimbursements (migration 0050). */

export type ReimbursementStatus = 'requested' | 'approved';

export interface IncidentReimbursementsTable {
  id: string;
  incident_id: string;
  status: ReimbursementStatus;
  reason: string;
  /** Operator ids (principals). The database refuses approved_by = requested_by. */
  requested_by: string;
  requested_at: string;
  approved_by: string | null;
  approved_at: string | null;
  /** `count:sha256hex` of the items as approved (migration 0050); null until approved. */
  items_digest: string | null;
}

/** One withdrawal paid back; keyed by the withdrawal, so it is reimbursed at most once. */
export interface IncidentReimbursementItemsTable {
  withdrawal_id: string;
  reimbursement_id: string;
  incident_id: string;
  account_id: string;
  asset: string;
  /** Amount + fee of the withdrawal, base units as a decimal string. */
  units: string;
  transfer_id: string | null;
  paid_at: string | null;
}

export interface ReimbursementsSchema {
  incident_reimbursements: IncidentReimbursementsTable;
  incident_reimbursement_items: IncidentReimbursementItemsTable;
}
