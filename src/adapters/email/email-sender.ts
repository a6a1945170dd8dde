/** One email as the outbox holds it; `id` is the outbox id, so a resend carries the same Message-ID. */
export interface EmailMessage {
  readonly id: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What one attempt came to; `responseCode` is the SMTP reply code when the server answered. */
export interface DeliveryOutcome {
  readonly delivered: boolean;
  readonly responseCode: number | null;
  readonly error: string | null;
}

export interface EmailSender {
  /** 'smtp' sends; 'dev-mailbox' only marks as delivered (the database is the mailbox). */
  readonly kind: 'smtp' | 'dev-mailbox';
  send(message: EmailMessage): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

/**
 * The embedded default without SMTP_URL: the email already sits in the outbox, where the dev mailbox route shows
 * it, so "delivering" it is only marking it so.
 */
export const devMailboxSender: EmailSender = Object.freeze({
  kind: 'dev-mailbox' as const,
  send: async () => ({ delivered: true, responseCode: null, error: null }),
  close: async () => {},
});
