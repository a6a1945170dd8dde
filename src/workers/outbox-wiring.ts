import { devMailboxSender, type EmailSender } from '../adapters/email/email-sender.ts';
import { smtpSender } from '../adapters/email/smtp-sender.ts';
import { destinationPolicy, type WebhookDestinationPolicy } from '../adapters/webhooks/destination-policy.ts';
import { httpWebhookSender } from '../adapters/webhooks/sender.ts';
import type { Config } from '../config.ts';
import type { ServiceContext } from '../services/context.ts';
import {
  createOutboxDispatcher,
  type OutboxDispatcher,
  type OutboxDispatcherOptions,
} from './outbox-dispatcher.ts';

/** WEBHOOK_ALLOWED_HOSTS and ALLOW_LOOPBACK_WEBHOOKS as a policy, for the API and the dispatcher alike. */
export function webhookDestinationsOf(config: Config): WebhookDestinationPolicy {
  return destinationPolicy({
    allowedHosts: config.webhookAllowedHosts,
    allowLoopback: config.allowLoopbackWebhooks,
  });
}

/** SMTP when SMTP_URL is set; otherwise the dev mailbox (the embedded default). */
export function emailSenderOf(config: Config): EmailSender {
  return config.smtpUrl === undefined
    ? devMailboxSender
    : smtpSender({ url: config.smtpUrl, from: config.mailFrom });
}

export interface RunningDispatcher extends OutboxDispatcher {
  /** Stops the loop and closes the SMTP pool. */
  close(): Promise<void>;
}

/** The dispatcher a server (or a worker process) runs, built from the configuration. */
export function outboxDispatcherOf(
  config: Config,
  context: ServiceContext,
  overrides: Partial<Omit<OutboxDispatcherOptions, 'database' | 'clock' | 'secretKey'>> = {},
): RunningDispatcher {
  const email = overrides.email ?? emailSenderOf(config);
  const dispatcher = createOutboxDispatcher({
    database: context.database,
    clock: context.clock,
    secretKey: context.totpKey,
    email,
    webhooks: overrides.webhooks ?? httpWebhookSender(),
    destinations: overrides.destinations ?? webhookDestinationsOf(config),
    ...overrides,
  });
  return {
    ...dispatcher,
    async close() {
      await dispatcher.stop();
      await email.close();
    },
  };
}
