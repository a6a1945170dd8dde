import type { Command } from 'commander';
import { printJson, withOperator } from '../context.ts';
import { terminal } from '../terminal.ts';

/** `drawbridge webhook add|list|rotate|disable|events|deliveries|test`: the same services as /v1/operator/webhooks, as an admin operator. */
export function registerWebhook(program: Command): void {
  const webhook = program.command('webhook').description('webhook receivers (signed with Standard Webhooks)');
  webhook
    .command('add')
    .description('register a receiver; prints its signing secret once')
    .requiredOption('--url <url>', 'the receiver (a host in WEBHOOK_ALLOWED_HOSTS, https)')
    .requiredOption('--events <events>', 'comma-separated event names, or "*" for all')
    .action(async (options: { url: string; events: string }) => {
      const { loadConfig } = await import('../../config.ts');
      const { destinationPolicy } = await import('../../adapters/webhooks/destination-policy.ts');
      const { createWebhookEndpoint } = await import('../../services/webhooks.ts');
      const config = loadConfig(terminal().env);
      const policy = destinationPolicy({
        allowedHosts: config.webhookAllowedHosts,
        allowLoopback: config.allowLoopbackWebhooks,
      });
      const events =
        options.events.trim() === '*'
          ? '*'
          : options.events
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean);
      printJson(
        await withOperator('webhook add', (context, actor) =>
          createWebhookEndpoint(context, actor, policy, { url: options.url, events }),
        ),
      );
    });
  webhook
    .command('list')
    .description('every receiver (never the secrets)')
    .action(async () => {
      const { listWebhookEndpoints } = await import('../../services/webhooks.ts');
      printJson(
        await withOperator('webhook list', (context, actor) => listWebhookEndpoints(context, actor), {
          read: true,
        }),
      );
    });
  webhook
    .command('rotate')
    .description('new signing secret (printed once); the old one keeps signing for 24 h')
    .argument('<id>', 'the endpoint id')
    .action(async (id: string) => {
      const { rotateWebhookSecret } = await import('../../services/webhooks.ts');
      printJson(
        await withOperator('webhook rotate', (context, actor) => rotateWebhookSecret(context, actor, id)),
      );
    });
  webhook
    .command('disable')
    .description('stop deliveries to a receiver')
    .argument('<id>', 'the endpoint id')
    .action(async (id: string) => {
      const { disableWebhookEndpoint } = await import('../../services/webhooks.ts');
      printJson(
        await withOperator('webhook disable', (context, actor) => disableWebhookEndpoint(context, actor, id)),
      );
    });
  webhook
    .command('events')
    .description('every event type a receiver can subscribe to, with what it means')
    .action(async () => {
      const { eventCatalogue } = await import('../../core/notifications/event-types.ts');
      printJson({ event_types: eventCatalogue() });
    });
  webhook
    .command('deliveries')
    .description("a receiver's deliveries, newest first, with status, attempts and last error")
    .argument('<id>', 'the endpoint id')
    .option('--limit <n>', 'how many (1-100)', '25')
    .option('--starting-after <delivery-id>', 'the last delivery id of the page before')
    .action(async (id: string, options: { limit: string; startingAfter?: string }) => {
      const { listWebhookDeliveries } = await import('../../services/webhooks.ts');
      printJson(
        await withOperator(
          'webhook deliveries',
          (context, actor) =>
            listWebhookDeliveries(context, actor, id, {
              limit: options.limit,
              starting_after: options.startingAfter,
            }),
          { read: true },
        ),
      );
    });
  webhook
    .command('test')
    .description('send a webhook.test event to a receiver (delivered by the running server)')
    .argument('<id>', 'the endpoint id')
    .action(async (id: string) => {
      const { sendTestWebhookEvent } = await import('../../services/webhooks.ts');
      printJson(
        await withOperator('webhook test', (context, actor) => sendTestWebhookEvent(context, actor, id)),
      );
    });
}
