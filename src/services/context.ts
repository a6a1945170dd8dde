import type { KeyObject } from 'node:crypto';
import type { DeviceAttestation, DeviceReport } from '../adapters/device-attestation.ts';
import type { Clock } from '../core/clock.ts';
import type { RelyingParty } from '../core/mfa/passkey.ts';
import type { Usd } from '../core/money/usd.ts';
import type { FeeSchedule } from '../core/withdrawals/fees.ts';
import type { Database } from '../store/database.ts';

/** Knobs of the security model; every delay is here and every delay reads the injected clock. */
export interface SecuritySettings {
  readonly sessionIdleMs: number;
  readonly sessionAbsoluteMs: number;
  readonly securityChangeLockMs: number;
  readonly publicUrl: string;
  readonly relyingParty: RelyingParty;
}

export const DEFAULT_SECURITY_SETTINGS: SecuritySettings = Object.freeze({
  sessionIdleMs: 30 * 60_000,
  sessionAbsoluteMs: 12 * 60 * 60_000,
  securityChangeLockMs: 24 * 60 * 60_000,
  publicUrl: 'http://127.0.0.1:8080',
  relyingParty: Object.freeze({
    id: '127.0.0.1',
    name: 'Drawbridge',
    origins: Object.freeze(['http://127.0.0.1:8080']),
  }),
});

/** Knobs of the withdrawal path. */
export interface WithdrawalSettings {
  readonly confirmationWindowMs: number;
  readonly cancelWindowMs: number;
  /** The first withdrawal to a destination waits longer before release. */
  readonly firstUseCancelWindowMs: number;
  readonly dailyLimitUsd: Usd;
  /** Approving a held withdrawal worth more than this (or unpriced) takes two different operators. */
  readonly reviewTwoAnalystUsd: Usd;
  readonly fees: FeeSchedule;
}

/** What every service function receives. Built once in the composition root (cli/serve, tests). */
export interface ServiceContext {
  readonly database: Database;
  readonly clock: Clock;
  readonly settings: SecuritySettings;
  /** AES-256-GCM key that seals TOTP secrets at rest. */
  readonly totpKey: Buffer;
  readonly deviceAttestation: DeviceAttestation;
  readonly withdrawals: WithdrawalSettings;
  /** Ed25519 key that signs release attestations. */
  readonly releaseKey: KeyObject;
  /**
   * The independent monitor's Ed25519 public key (its private half is the monitor's alone): the releaser releases
   * only a withdrawal whose verdict verifies under it, and custody checks it again.
   */
  readonly monitorPublicKey: KeyObject;
  /** A due withdrawal that has waited longer than this for the monitor's verdict raises an alert. */
  readonly monitorMaxLagMs: number;
}

/** Who is asking, as the HTTP or CLI edge saw it. */
export interface RequestMeta {
  readonly ip: string;
  readonly userAgent: string;
  readonly device?: DeviceReport | undefined;
  /** The session the request was made in, when it carried one. */
  readonly sessionId?: string | undefined;
}
