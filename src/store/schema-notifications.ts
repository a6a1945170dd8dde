/** Row types for notification delivery: webhook endpoints, the per-attempt delivery log, preferences. */

export type WebhookEndpointStatus = 'active' | 'disabled';

export interface WebhookEndpointsTable {
  id: string;
  url: string;
  /** '*' for every event, else a JSON array of event names. */
  event_types: string;
  /** Sealed (src/adapters/secret-box.ts) `whsec_` signing secret in use. */
  secret_current: string;
  /** The secret it replaced, still signed with until `previous_valid_until` (rotation overlap). */
  secret_previous: string | null;
  previous_valid_until: string | null;
  rotated_at: string | null;
  status: WebhookEndpointStatus;
  created_at: string;
  disabled_at: string | null;
}

export interface DeliveryLogTable {
  id: string;
  outbox_id: string;
  attempt: number;
  at: string;
  status: 'delivered' | 'failed';
  response_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface NotificationPreferencesTable {
  account_id: string;
  event: string;
  /** 0 or 1. */
  enabled: number;
  updated_at: string;
}

export interface NotificationsSchema {
  webhook_endpoints: WebhookEndpointsTable;
  delivery_log: DeliveryLogTable;
  notification_preferences: NotificationPreferencesTable;
}
