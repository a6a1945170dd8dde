import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { selfReportedAttestation } from '../../src/adapters/device-attestation.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { usdFromWholeDollars } from '../../src/core/money/usd.ts';
import { DEFAULT_FEES } from '../../src/core/withdrawals/fees.ts';
import { type AppDeps, buildApp } from '../../src/http/app.ts';
import {
  DEFAULT_SECURITY_SETTINGS,
  type SecuritySettings,
  type ServiceContext,
} from '../../src/services/context.ts';
import type { MonitorContext, MonitorHaltScope } from '../../src/services/monitor/check.ts';
import type { Database } from '../../src/store/database.ts';

export const TEST_ORIGIN = 'http://localhost';

export interface RunningApp {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly clock: ManualClock;
  readonly context: ServiceContext;
  close(): Promise<void>;
}

/** A service context as the composition root would build it, with a manual clock and a throwaway TOTP key. */
export function testContext(
  database: Database,
  clock = new ManualClock('2026-11-27T12:00:00.000Z'),
  settings: Partial<SecuritySettings> = {},
): ServiceContext {
  const monitorKeys = generateKeyPairSync('ed25519');
  const context: ServiceContext = {
    database,
    clock,
    totpKey: randomBytes(32),
    deviceAttestation: selfReportedAttestation,
    releaseKey: generateKeyPairSync('ed25519').privateKey,
    monitorPublicKey: monitorKeys.publicKey,
    monitorMaxLagMs: 30_000,
    withdrawals: {
      confirmationWindowMs: 5 * 60_000,
      cancelWindowMs: 2 * 60_000,
      firstUseCancelWindowMs: 10 * 60_000,
      dailyLimitUsd: usdFromWholeDollars(50_000n),
      reviewTwoAnalystUsd: usdFromWholeDollars(10_000n),
      fees: DEFAULT_FEES,
    },
    settings: {
      ...DEFAULT_SECURITY_SETTINGS,
      publicUrl: 'http://127.0.0.1:8080',
      relyingParty: { id: 'localhost', name: 'Drawbridge test', origins: [TEST_ORIGIN] },
      ...settings,
    },
  };
  monitorKeysOf.set(context, monitorKeys.privateKey);
  return context;
}

const monitorKeysOf = new WeakMap<ServiceContext, KeyObject>();

/**
 * The independent monitor beside a test context, as the embedded default composes it (src/composition.ts
 * composeMonitor): its own signing key (made with the context), the services' database, clock and TOTP key. Its
 * findings halt the account (MONITOR_HALT_SCOPE=account), so an attack in one test of a suite leaves the others'
 * withdrawals alone; the tests of the global halt ask for it.
 */
export function monitorOf(context: ServiceContext, haltScope: MonitorHaltScope = 'account'): MonitorContext {
  const signingKey = monitorKeysOf.get(context);
  if (signingKey === undefined) throw new Error('this context was not made by testContext');
  return { services: context, signingKey, releasePublicKey: createPublicKey(context.releaseKey), haltScope };
}

/**
 * The real app on a real loopback port: tests speak HTTP to it, not `inject`. Silent, with the dev mailbox; the
 * rest of `options` goes to buildApp as it is.
 */
export async function startApp(
  database: Database,
  options: { clock?: ManualClock; context?: ServiceContext } & Omit<AppDeps, 'context'> = {},
): Promise<RunningApp> {
  const { clock: givenClock, context: givenContext, ...deps } = options;
  const clock = givenClock ?? new ManualClock('2026-11-27T12:00:00.000Z');
  const context = givenContext ?? testContext(database, clock);
  const app = await buildApp({ logLevel: 'silent', devMailbox: true, ...deps, context });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address, clock: context.clock as ManualClock, context, close: () => app.close() };
}
