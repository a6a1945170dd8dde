/** Row types of the identity and outbox tables (see migrations 0005 and 0006). */
export interface OutboxTable {
  id: string;
  channel: 'email' | 'webhook';
  recipient: string;
  account_id: string | null;
  event: string;
  security: number;
  subject: string;
  body_text: string;
  body_html: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed' | 'held';
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
  created_at: string;
}

export interface SecurityEpochsTable {
  id: number;
  session_epoch: number;
  mfa_epoch: number;
  totp_epoch: number;
  passkey_epoch: number;
  recovery_epoch: number;
}

export type PrincipalKind = 'customer' | 'operator';
export type OperatorRole = 'support' | 'risk_analyst' | 'incident_commander' | 'admin';

export interface PrincipalsTable {
  id: string;
  kind: PrincipalKind;
  email: string;
  email_verified_at: string | null;
  password_hash: string;
  role: OperatorRole | null;
  locked_at: string | null;
  locked_reason: string | null;
  session_epoch: number;
  mfa_epoch: number;
  withdrawals_locked_until: string | null;
  mfa_failures: number;
  mfa_lock_count: number;
  mfa_locked_until: string | null;
  last_totp_step: string | number;
  /** The session that claimed last_totp_step (null: claimed outside one, or before this was recorded). */
  totp_last_step_session: string | null;
  /** The IP address that claimed last_totp_step. */
  totp_last_step_ip: string | null;
  created_at: string;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  csrf_hash: string;
  principal_id: string;
  aal: number;
  global_epoch: number;
  principal_epoch: number;
  device_id: string | null;
  ip: string;
  user_agent: string;
  created_at: string;
  last_seen_at: string;
  ended_at: string | null;
  ended_reason: string | null;
}

export interface DevicesTable {
  id: string;
  principal_id: string;
  device_key: string;
  user_agent: string;
  platform: string;
  integrity: 'ok' | 'jailbroken' | 'unknown';
  integrity_source: string;
  first_seen_at: string;
  last_seen_at: string;
}

export type MfaMethod = 'totp' | 'passkey' | 'recovery';

export interface MfaFactorsTable {
  id: string;
  principal_id: string;
  method: MfaMethod;
  status: 'pending' | 'active' | 'removed';
  label: string;
  secret: string | null;
  credential_id: string | null;
  public_key: string | null;
  sign_count: string | number;
  code_hash: string | null;
  used_at: string | null;
  global_epoch: number;
  method_epoch: number;
  principal_epoch: number;
  created_at: string;
  activated_at: string | null;
  removed_at: string | null;
  /** HMAC binding id, owner, method and key fingerprint (migration 0035); null on factors older than it. */
  binding: string | null;
}

export interface OneTimeTokensTable {
  id: string;
  principal_id: string;
  purpose: string;
  token_hash: string;
  data: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface SecuritySettingsHistoryTable {
  id: string;
  principal_id: string;
  setting: string;
  value: string;
  effective_at: string;
}

export interface RateLimitsTable {
  bucket: string;
  window_start: string;
  hits: number;
}

export interface IdentitySchema {
  outbox: OutboxTable;
  security_epochs: SecurityEpochsTable;
  principals: PrincipalsTable;
  sessions: SessionsTable;
  devices: DevicesTable;
  mfa_factors: MfaFactorsTable;
  one_time_tokens: OneTimeTokensTable;
  security_settings_history: SecuritySettingsHistoryTable;
  rate_limits: RateLimitsTable;
}
