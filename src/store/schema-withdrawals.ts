import type { WithdrawalState } from '../core/withdrawals/states.ts';

export type { WithdrawalState };

export interface WithdrawalsTable {
  id: string;
  account_id: string;
  asset: string;
  network: string;
  amount: string;
  fee: string;
  destination_id: string;
  destination_address: string;
  destination_label: string;
  nonce: string;
  digest: string;
  summary: string;
  state: WithdrawalState;
  proof_id: string | null;
  confirm_failures: number;
  expires_at: string;
  release_after: string | null;
  time_locked_until: string | null;
  first_use: number;
  screening: string | null;
  attestation: string | null;
  txid: string | null;
  reason: string | null;
  /** Written by every state move, so that move's events are inserted only if the update matched. */
  move_id: string | null;
  /** When it was released (signed for custody); null before. */
  released_at: string | null;
  /** USD value at confirmation (exact decimal) and the price point used; null without a fresh price. */
  usd_value: string | null;
  usd_price: string | null;
  usd_price_at: string | null;
  usd_price_source: string | null;
  /** The session and the device (if the login reported one) it was confirmed from; null before confirmation. */
  session_id: string | null;
  device_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface WithdrawalProofsTable {
  id: string;
  withdrawal_id: string;
  account_id: string;
  digest: string;
  method: 'totp' | 'passkey' | 'recovery_code';
  factor_id: string;
  evidence: string;
  proof_hash: string;
  created_at: string;
}

export interface WithdrawalEventsTable {
  id: string;
  withdrawal_id: string;
  at: string;
  from_state: string | null;
  to_state: string;
  actor: string;
  reason: string | null;
  /** When the event relay told integrators and the customer; NULL until then. */
  relayed_at: string | null;
}

export interface HaltControlTable {
  id: number;
  version: number;
}

export interface HaltsTable {
  id: string;
  scope: 'global' | 'asset' | 'account';
  asset: string | null;
  network: string | null;
  account_id: string | null;
  reason: string;
  created_by: string;
  created_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
  /** The incident it was placed for (migration 0045); null for a halt by hand or the monitor's. */
  incident_id?: string | null;
}

export interface DepositsTable {
  id: string;
  network: string;
  txid: string;
  output_index: number;
  account_id: string;
  asset: string;
  amount: string;
  transfer_id: string;
  created_at: string;
  /** Who recorded the output and who approved its credit (migration 0060); null for deposits credited before it. */
  recorded_by: string | null;
  approved_by: string | null;
}

/** A chain output recorded for a customer by one operator, credited once a second one approves it (0060). */
export interface DepositRequestsTable {
  id: string;
  network: string;
  txid: string;
  output_index: number;
  account_id: string;
  asset: string;
  amount: string;
  recorded_by: string;
  recorded_at: string;
  approved_by: string | null;
  approved_at: string | null;
  /** The `deposits` row its approval credited. */
  deposit_id: string | null;
  /** Who rejected it instead (a mistyped or made-up entry), when and why: the output may then be recorded again. */
  rejected_by: string | null;
  rejected_at: string | null;
  rejection_reason: string | null;
}

export interface SimulatedChainTxsTable {
  txid: string;
  withdrawal_id: string;
  network: string;
  destination: string;
  amount: string;
  broadcast_at: string;
  confirms_at: string;
}

/** The webhook custody signer: one row per withdrawal handed to the integrator, and what it reported since. */
export interface CustodyHandoffsTable {
  withdrawal_id: string;
  /** The `webhook-id` of the instruction: stable per withdrawal, so the integrator can deduplicate. */
  message_id: string;
  status: 'submitted' | 'broadcast' | 'confirmed' | 'failed';
  txid: string | null;
  submitted_at: string;
  /** When the integrator accepted the instruction without a txid (202); null until then. */
  accepted_at: string | null;
  updated_at: string;
}

/** Every signed custody status callback, by `webhook-id`: a replay gets the first answer, never a second effect. */
export interface CustodyCallbacksTable {
  webhook_id: string;
  body_hash: string;
  withdrawal_id: string;
  status: 'broadcast' | 'confirmed' | 'failed';
  txid: string | null;
  outcome: 'pending' | 'applied' | 'unchanged' | 'refused';
  /** The HTTP status the callback was answered with (200, 404, 409). */
  answer_code: number;
  reason: string | null;
  received_at: string;
}

export interface WithdrawalSchema {
  withdrawals: WithdrawalsTable;
  rule_sets: RuleSetsTable;
  rule_set_revision: RuleSetRevisionTable;
  rule_evaluations: RuleEvaluationsTable;
  withdrawal_proofs: WithdrawalProofsTable;
  withdrawal_events: WithdrawalEventsTable;
  halt_control: HaltControlTable;
  halts: HaltsTable;
  deposits: DepositsTable;
  deposit_requests: DepositRequestsTable;
  simulated_chain_txs: SimulatedChainTxsTable;
  custody_handoffs: CustodyHandoffsTable;
  custody_callbacks: CustodyCallbacksTable;
}

export type RuleSetState = 'draft' | 'shadow' | 'active' | 'retired';

export interface RuleSetsTable {
  id: string;
  version: number;
  state: RuleSetState;
  description: string;
  /** The validated configuration (src/core/risk/rule-sets.ts), as JSON. */
  config: string;
  created_by: string;
  created_at: string;
  shadowed_at: string | null;
  activated_at: string | null;
  activated_by: string | null;
  retired_at: string | null;
  updated_at: string;
}

/** One row: goes up with every change to rule_sets (migration 0036's triggers). */
export interface RuleSetRevisionTable {
  id: number;
  /** bigint: a string from PostgreSQL, a number from SQLite. */
  revision: number | string;
  nonce: string;
}

export interface RuleEvaluationsTable {
  id: string;
  withdrawal_id: string;
  rule_set_id: string;
  rule_set_version: number;
  mode: 'active' | 'shadow';
  outcome: string;
  enforced_outcome: string;
  disagrees: number;
  results: string;
  facts: string;
  at: string;
}
