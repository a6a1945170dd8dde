import { createPublicKey, type KeyObject } from 'node:crypto';
import { SimulatedChain } from './adapters/custody/simulated-chain.ts';
import { WebhookCustodyTransport } from './adapters/custody/webhook-signer.ts';
import { selfReportedAttestation } from './adapters/device-attestation.ts';
import { loadReleaseKey, loadSigningKey } from './adapters/release-key.ts';
import { loadKey } from './adapters/secret-box.ts';
import { destinationPolicy, type WebhookDestinationPolicy } from './adapters/webhooks/destination-policy.ts';
import type { Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import { invalidInput } from './core/errors.ts';
import { parseUsd, usdFromWholeDollars } from './core/money/usd.ts';
import { keyId } from './core/withdrawals/attestation.ts';
import type { AppDeps } from './http/app.ts';
import type { ServiceContext } from './services/context.ts';
import { CustodyHandover } from './services/custody/handover.ts';
import type { MonitorContext } from './services/monitor/check.ts';
import type { Database } from './store/database.ts';
import { simulatedChainStore } from './store/simulated-chain.ts';
import type { DomainLog } from './workers/domain-log.ts';

/**
 * The one place where configuration becomes running parts. Keys come from the environment or, in the embedded
 * default, are generated at first start into the data directory with mode 0600.
 */
export async function composeServices(
  config: Config,
  database: Database,
  clock: Clock,
): Promise<ServiceContext> {
  const totpKey = await loadKey({
    envValue: config.totpKey,
    dataDir: config.dataDir,
    fileName: 'totp-secret.key',
  });
  const releaseKey = await loadReleaseKey({ envValue: config.releaseSigningKey, dataDir: config.dataDir });
  return {
    database,
    releaseKey,
    monitorPublicKey:
      config.monitor.mode === 'external'
        ? createPublicKey(config.monitor.publicKeyPem)
        : createPublicKey(await loadMonitorKey(config)),
    monitorMaxLagMs: config.monitor.maxLagMs,
    withdrawals: {
      confirmationWindowMs: config.confirmationWindowMs,
      cancelWindowMs: config.cancelWindowMs,
      firstUseCancelWindowMs: config.firstUseCancelWindowMs,
      dailyLimitUsd: usdFromWholeDollars(config.dailyLimitUsd),
      reviewTwoAnalystUsd: parseUsd(config.reviewTwoAnalystUsd, {
        field: 'REVIEW_TWO_ANALYST_USD',
        allowZero: true,
      }),
      fees: config.withdrawalFees,
    },
    clock,
    totpKey,
    deviceAttestation: selfReportedAttestation,
    settings: {
      sessionIdleMs: config.sessionIdleMs,
      sessionAbsoluteMs: config.sessionAbsoluteMs,
      securityChangeLockMs: config.securityChangeLockMs,
      publicUrl: config.publicUrl,
      relyingParty: { id: config.rpId, name: 'Drawbridge', origins: config.rpOrigins },
    },
  };
}

/** The monitor's signing key: MONITOR_SIGNING_KEY, or monitor-signing.key generated into the data directory. */
export function loadMonitorKey(config: Config): Promise<KeyObject> {
  return loadSigningKey({
    envValue: config.monitor.signingKey,
    dataDir: config.dataDir,
    fileName: 'monitor-signing.key',
  });
}

/**
 * The independent monitor's context: the services' database, clock and TOTP sealing key, its own signing key, and
 * the release key's public half (it checks every attestation after the fact).
 */
export async function composeMonitor(config: Config, context: ServiceContext): Promise<MonitorContext> {
  const signingKey = await loadMonitorKey(config);
  if (keyId(createPublicKey(signingKey)) !== keyId(context.monitorPublicKey))
    throw invalidInput('MONITOR_SIGNING_KEY', 'is not the private half of MONITOR_PUBLIC_KEY');
  return {
    services: context,
    signingKey,
    releasePublicKey: createPublicKey(context.releaseKey),
    haltScope: config.monitor.haltScope,
    volumeBreaker: {
      window_ms: config.monitor.volumeBreaker.windowMs,
      baselineWindows: config.monitor.volumeBreaker.baselineWindows,
      multiple: config.monitor.volumeBreaker.multiple,
      floorUsd: parseUsd(config.monitor.volumeBreaker.floorUsd, {
        field: 'MONITOR_VOLUME_FLOOR_USD',
        allowZero: true,
      }),
    },
  };
}

/** WEBHOOK_ALLOWED_HOSTS and ALLOW_LOOPBACK_WEBHOOKS as a policy: the API, the dispatcher and custody alike. */
function webhookDestinations(config: Config): WebhookDestinationPolicy {
  return destinationPolicy({
    allowedHosts: config.webhookAllowedHosts,
    allowLoopback: config.allowLoopbackWebhooks,
  });
}

/**
 * Custody as CUSTODY_SIGNER says: the shared hand-over service over the simulated chain (its state in the
 * database, shared by every node) or over the integrator's webhook signer. `clock` stamps the instructions'
 * `webhook-timestamp`, which the integrator checks against its wall clock: the system clock in a server.
 */
export function composeCustody(config: Config, context: ServiceContext, clock: Clock): CustodyHandover {
  const transport =
    config.custody.signer === 'webhook'
      ? new WebhookCustodyTransport({
          clock,
          url: config.custody.url,
          destinations: webhookDestinations(config),
          secret: config.custody.secret,
          callbackSecret: config.custody.callbackSecret,
          timeoutMs: config.custody.timeoutMs,
        })
      : new SimulatedChain({
          state: simulatedChainStore(context.database),
          clock,
          keys: { release: createPublicKey(context.releaseKey), monitor: context.monitorPublicKey },
          confirmations: config.simulatedConfirmations,
          blockMs: config.simulatedBlockMs,
        });
  return new CustodyHandover({ database: context.database, clock, transport });
}

/** The loops a server runs beside its API; they coordinate through the database, so every node runs them. */
export interface Workers {
  /**
   * Starts the releaser (expire, release, hand over, settle), the independent monitor (when embedded), the event
   * relay, the audit sealer, the price source and the outbox dispatcher. `log`, when given, gets one line per security-relevant fact (the domain log).
   */
  start(onError: (error: unknown, what: string) => void, log?: DomainLog): void;
  /** Stops each after its current round, and closes the SMTP pool. */
  stop(): Promise<void>;
}

export interface ComposedServer {
  readonly context: ServiceContext;
  /** What `buildApp` takes. */
  readonly app: AppDeps;
  readonly custody: CustodyHandover;
  /** The independent monitor when it runs embedded (MONITOR=embedded); undefined when it runs apart. */
  readonly monitor: MonitorContext | undefined;
  /** For the start-up log: which custody signer, and where (never a secret). */
  readonly custodyDescription:
    | { readonly signer: 'simulated' }
    | { readonly signer: 'webhook'; readonly origin: string };
  readonly workers: Workers;
  /** The embedded default with the dev mailbox seeds a demo on an empty database. */
  readonly seedsDemo: boolean;
}

/** Everything `drawbridge serve` runs, built from the configuration. Nothing starts until `workers.start`. */
export async function composeServer(
  config: Config,
  database: Database,
  clock: Clock,
): Promise<ComposedServer> {
  const context = await composeServices(config, database, clock);
  const custody = composeCustody(config, context, clock);
  // Loaded here, not at the top: the CLI's short commands build services too and should not pay for these.
  const { startReleaser } = await import('./workers/releaser.ts');
  const { startAuditSealer } = await import('./workers/audit-sealer.ts');
  const { startEventRelay } = await import('./workers/event-relay.ts');
  const { startPriceRefresher } = await import('./workers/price-refresher.ts');
  const { SimulatedPriceSource } = await import('./adapters/prices/simulated-prices.ts');
  const { HttpJsonPriceSource } = await import('./adapters/prices/http-json-prices.ts');
  const { outboxDispatcherOf } = await import('./workers/outbox-wiring.ts');
  const { startMonitor } = await import('./workers/monitor.ts');
  // Embedded, the server runs the monitor too; external, `drawbridge monitor` runs it apart, with the key.
  const monitor = config.monitor.mode === 'embedded' ? await composeMonitor(config, context) : undefined;
  let running: Workers['stop'] | undefined;
  const workers: Workers = {
    start(onError, log) {
      if (running !== undefined) throw new Error('assertion failed: the workers start once');
      const sealer = startAuditSealer(database, {
        interval_ms: 200,
        onError: (error) => onError(error, 'audit sealing failed'),
        ...(log === undefined ? {} : { log }),
      });
      const releaser = startReleaser(context, custody, {
        interval_ms: 1000,
        onError: (error) => onError(error, 'releaser tick failed'),
      });
      const monitorLoop =
        monitor === undefined
          ? undefined
          : startMonitor(monitor, { onError: (error) => onError(error, 'monitor pass failed') });
      const relay = startEventRelay(context, {
        interval_ms: 250,
        onError: (error) => onError(error, 'withdrawal event relay failed'),
        ...(log === undefined ? {} : { log }),
      });
      const source =
        config.priceSource.kind === 'simulated'
          ? new SimulatedPriceSource(clock)
          : config.priceSource.kind === 'http'
            ? new HttpJsonPriceSource({ url: config.priceSource.url })
            : undefined;
      const prices =
        source === undefined
          ? undefined
          : startPriceRefresher(context, source, {
              // Under the test clock a jump in time must not leave prices stale (held withdrawals) for a minute.
              interval_ms: config.testClock ? 1_000 : 60_000,
              onError: (error) => onError(error, 'price refresh failed'),
            });
      const dispatcher = outboxDispatcherOf(config, context, {
        onError: (error) => onError(error, 'outbox round failed'),
        ...(log === undefined
          ? {}
          : {
              onAttempt: (message, result, error) =>
                log[result === 'failed' ? 'warn' : 'info'](
                  {
                    domain: 'notification',
                    result,
                    channel: message.channel,
                    event: message.event,
                    outbox_id: message.id,
                    account_id: message.account_id,
                    attempts: message.attempts + 1,
                    error,
                  },
                  `notification ${result}`,
                ),
            }),
      });
      dispatcher.start();
      running = async () => {
        await releaser.stop();
        await monitorLoop?.stop();
        await relay.stop();
        await prices?.stop();
        await sealer.stop();
        await dispatcher.close();
      };
    },
    async stop() {
      await running?.();
    },
  };
  return {
    context,
    app: {
      context,
      webhookDestinations: webhookDestinations(config),
      logLevel: config.logLevel,
      logFormat: config.logFormat,
      bodyLimitBytes: config.bodyLimitBytes,
      timeouts: { requestMs: config.requestTimeoutMs, keepAliveMs: config.keepAliveTimeoutMs },
      cookieSecure: config.cookieSecure,
      devMailbox: config.devMailbox,
      // The callback route exists only with the webhook signer; otherwise it is a 404 like any unknown path.
      custodyCallbackSecret: config.custody.signer === 'webhook' ? config.custody.callbackSecret : undefined,
    },
    custody,
    monitor,
    custodyDescription:
      config.custody.signer === 'webhook'
        ? { signer: 'webhook', origin: new URL(config.custody.url).origin }
        : { signer: 'simulated' },
    workers,
    seedsDemo: config.databaseUrl === undefined && config.devMailbox,
  };
}
