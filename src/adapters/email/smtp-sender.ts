import { createTransport } from 'nodemailer';
import { invalidInput } from '../../core/errors.ts';
import type { DeliveryOutcome, EmailMessage, EmailSender } from './email-sender.ts';

export const DEFAULT_MAIL_FROM = 'Drawbridge <security@drawbridge.local>';

/**
 * Every phase has a timeout well inside the dispatcher's claim lease (60 s), so a hung relay cannot make a claim
 * expire while the message is still being sent (which would let another node send it too).
 */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;
const SEND_TIMEOUT_MS = 40_000;
const MAX_CONNECTIONS = 3;
const ERROR_CHARS = 300;

/** The domain of the From address, for Message-IDs: `<outbox id@domain>`. */
export function messageIdDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]{1,253})>?\s*$/.exec(from);
  if (match === null) throw invalidInput('MAIL_FROM', 'must end with an address (name <user@domain>)');
  return match[1]!.toLowerCase();
}

export function messageIdFor(outboxId: string, domain: string): string {
  return `<${outboxId}@${domain}>`;
}

/** Sends through the relay in SMTP_URL (smtp:// with STARTTLS when offered, or smtps://), pooled. */
export function smtpSender(options: { url: string; from?: string }): EmailSender {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw invalidInput('SMTP_URL', 'must be an smtp:// or smtps:// URL');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw invalidInput('SMTP_URL', 'must be an smtp:// or smtps:// URL');
  }
  const from = options.from ?? DEFAULT_MAIL_FROM;
  const domain = messageIdDomain(from);
  const transport = createTransport({
    pool: true,
    url: options.url,
    maxConnections: MAX_CONNECTIONS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  return {
    kind: 'smtp',
    async send(message: EmailMessage): Promise<DeliveryOutcome> {
      try {
        await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: messageIdFor(message.id, domain),
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        return { delivered: true, responseCode: 250, error: null };
      } catch (error) {
        const code = (error as { responseCode?: unknown }).responseCode;
        const text = error instanceof Error ? error.message : 'unknown error';
        return {
          delivered: false,
          responseCode: typeof code === 'number' ? code : null,
          error: text.slice(0, ERROR_CHARS),
        };
      }
    },
    async close() {
      transport.close();
    },
  };
}
