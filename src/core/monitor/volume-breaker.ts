import { compareUsd, type Usd } from '../money/usd.ts';

/**
 * The withdrawn-volume circuit breaker: an asset whose volume released in the last window exceeds `multiple` times
 * its baseline (the mean volume per window over the `baselineWindows` windows before) trips, unless that volume is
 * worth no more than `floorUsd` (a quiet system's first withdrawal is not an anomaly). Pure: the monitor reads the
 * releases and the price and decides here.
 */
export interface VolumeBreakerPolicy {
  readonly window_ms: number;
  readonly baselineWindows: number;
  /** A whole multiple (at least 1): the volume may reach this many times the baseline. */
  readonly multiple: number;
  readonly floorUsd: Usd;
}

export interface ReleasedVolume {
  readonly amount: bigint;
  readonly releasedAt: Date;
}

export interface AssetVolume {
  /** Base units released in the last window (since the asset was last resumed, if later). */
  readonly current: bigint;
  /** Base units released in the baseline windows before it, summed. */
  readonly baselineTotal: bigint;
}

/** How far back the releases must be read: the current window and the baseline windows before it. */
export function volumeLookback_ms(policy: VolumeBreakerPolicy): number {
  return policy.window_ms * (policy.baselineWindows + 1);
}

/**
 * Splits an asset's releases into the current window and the baseline. Releases before `resumedAt` (an operator
 * lifted the asset's halt then) do not count in the current window: what tripped the breaker once does not trip
 * it again the moment it is resumed (those of the current window then count nowhere). A `resumedAt` after `now` is
 * no resume (a row dated in the future would otherwise keep the current window from ever starting).
 */
export function assetVolume(
  releases: readonly ReleasedVolume[],
  now: Date,
  policy: VolumeBreakerPolicy,
  resumedAt?: Date,
): AssetVolume {
  const windowStart = now.getTime() - policy.window_ms;
  const baselineStart = now.getTime() - volumeLookback_ms(policy);
  const resumed = resumedAt?.getTime() ?? Number.NaN;
  const currentFrom = resumed <= now.getTime() ? Math.max(windowStart, resumed) : windowStart;
  let current = 0n;
  let baselineTotal = 0n;
  for (const release of releases) {
    const at = release.releasedAt.getTime();
    if (Number.isNaN(at) || at > now.getTime()) continue;
    if (at >= currentFrom) current += release.amount;
    else if (at >= baselineStart && at < windowStart) baselineTotal += release.amount;
  }
  return { current, baselineTotal };
}

/**
 * Whether the breaker trips. `currentUsd` is the current volume's value, undefined when the asset has no price:
 * then the floor cannot be applied and the multiple alone decides (fail closed; an unpriced asset's withdrawals are
 * held for review anyway).
 */
export function volumeTrips(
  volume: AssetVolume,
  policy: VolumeBreakerPolicy,
  currentUsd: Usd | undefined,
): boolean {
  if (volume.current === 0n) return false;
  if (currentUsd !== undefined && compareUsd(currentUsd, policy.floorUsd) <= 0) return false;
  // current > multiple * (baselineTotal / baselineWindows), without dividing.
  return volume.current * BigInt(policy.baselineWindows) > BigInt(policy.multiple) * volume.baselineTotal;
}
