import type { Command } from 'commander';
import type { CustodySigner } from '../../adapters/custody/custody-signer.ts';
import { loadConfig } from '../../config.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { openConfiguredDatabase } from '../context.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the HTTP API (SQLite under $DRAWBRIDGE_DATA_DIR, or PostgreSQL when DATABASE_URL is set)',
    )
    .action(async () => {
      // Loaded here, not at the top: other commands should not pay for the HTTP stack's start-up.
      const { composeServices } = await import('../../composition.ts');
      const { systemClock } = await import('../../core/clock.ts');
      const { buildApp } = await import('../../http/app.ts');
      const config = loadConfig();
      const database = openConfiguredDatabase(config, { serving: true });
      await migrateToLatest(database);
      const context = await composeServices(config, database, systemClock);
      const { outboxDispatcherOf, webhookDestinationsOf } = await import('../../workers/outbox-wiring.ts');
      const app = await buildApp({
        context,
        webhookDestinations: webhookDestinationsOf(config),
        logLevel: config.logLevel,
        bodyLimitBytes: config.bodyLimitBytes,
        timeouts: { requestMs: config.requestTimeoutMs, keepAliveMs: config.keepAliveTimeoutMs },
        cookieSecure: config.cookieSecure,
        devMailbox: config.devMailbox,
        // The callback route exists only with the webhook signer; otherwise it is a 404 like any unknown path.
        custodyCallbackSecret:
          config.custody.signer === 'webhook' ? config.custody.callbackSecret : undefined,
      });
      if (config.databaseUrl === undefined && config.devMailbox) {
        const { seedDemo } = await import('../../services/demo-seed.ts');
        const demo = await seedDemo(context);
        if (demo !== undefined) app.log.info({ demo }, 'seeded a demo customer and operator (shown once)');
      }
      const { startReleaser } = await import('../../workers/releaser.ts');
      const { startAuditSealer } = await import('../../workers/audit-sealer.ts');
      let custody: CustodySigner;
      if (config.custody.signer === 'webhook') {
        const { WebhookCustodySigner } = await import('../../adapters/custody/webhook-signer.ts');
        custody = new WebhookCustodySigner({
          database,
          clock: systemClock,
          url: config.custody.url,
          destinations: webhookDestinationsOf(config),
          secret: config.custody.secret,
          timeoutMs: config.custody.timeoutMs,
        });
        app.log.info({ origin: new URL(config.custody.url).origin }, 'custody: webhook signer');
      } else {
        const { createPublicKey } = await import('node:crypto');
        const { SimulatedChain } = await import('../../adapters/custody/simulated-chain.ts');
        custody = new SimulatedChain({
          database,
          clock: systemClock,
          publicKey: createPublicKey(context.releaseKey),
          confirmations: config.simulatedConfirmations,
          blockMs: config.simulatedBlockMs,
        });
      }
      const sealer = startAuditSealer(database, {
        interval_ms: 200,
        onError: (error) => app.log.error({ err: error }, 'audit sealing failed'),
      });
      const releaser = startReleaser(context, custody, {
        interval_ms: 1000,
        onError: (error) => app.log.error({ err: error }, 'releaser tick failed'),
      });
      const dispatcher = outboxDispatcherOf(config, context, {
        onError: (error) => app.log.error({ err: error }, 'outbox round failed'),
      });
      dispatcher.start();
      const stop = async (signal: string) => {
        app.log.info({ signal }, 'shutting down');
        await releaser.stop();
        await sealer.stop();
        await dispatcher.close();
        await app.close();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      await app.listen({ host: config.host, port: config.port });
    });
}
