import { selfReportedAttestation } from './adapters/device-attestation.ts';
import { loadReleaseKey } from './adapters/release-key.ts';
import { loadKey } from './adapters/secret-box.ts';
import type { Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import { usdFromWholeDollars } from './core/money/usd.ts';
import { DEFAULT_FEES } from './core/withdrawals/fees.ts';
import type { ServiceContext } from './services/context.ts';
import type { Database } from './store/database.ts';

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
    withdrawals: {
      confirmationWindowMs: 5 * 60_000,
      cancelWindowMs: config.cancelWindowMs,
      firstUseCancelWindowMs: config.firstUseCancelWindowMs,
      dailyLimitUsd: usdFromWholeDollars(config.dailyLimitUsd),
      fees: DEFAULT_FEES,
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
