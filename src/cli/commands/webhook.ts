import type { Command } from 'commander';
import { printJson, withServices } from '../context.ts';

/** `drawbridge webhook add|list|rotate|disable`: the same services as /v1/operator/webhooks, actor "cli". */
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
      const config = loadConfig();
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
        await withServices((context) =>
          createWebhookEndpoint(context, { cli: true }, policy, { url: options.url, events }),
        ),
      );
    });
  webhook
    .command('list')
    .description('every receiver (never the secrets)')
    .action(async () => {
      const { listWebhookEndpoints } = await import('../../services/webhooks.ts');
      printJson(await withServices((context) => listWebhookEndpoints(context)));
    });
  webhook
    .command('rotate')
    .description('new signing secret (printed once); the old one keeps signing for 24 h')
    .argument('<id>', 'the endpoint id')
    .action(async (id: string) => {
      const { rotateWebhookSecret } = await import('../../services/webhooks.ts');
      printJson(await withServices((context) => rotateWebhookSecret(context, { cli: true }, id)));
    });
  webhook
    .command('disable')
    .description('stop deliveries to a receiver')
    .argument('<id>', 'the endpoint id')
    .action(async (id: string) => {
      const { disableWebhookEndpoint } = await import('../../services/webhooks.ts');
      printJson(await withServices((context) => disableWebhookEndpoint(context, { cli: true }, id)));
    });
}
