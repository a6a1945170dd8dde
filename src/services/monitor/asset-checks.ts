import { DomainError } from '../../core/errors.ts';
import { getAsset } from '../../core/money/assets.ts';
import { formatUsdExact, type Usd, usdFromWholeDollars } from '../../core/money/usd.ts';
import {
  assetVolume,
  type ReleasedVolume,
  type VolumeBreakerPolicy,
  volumeLookback_ms,
  volumeTrips,
} from '../../core/monitor/volume-breaker.ts';
import { activeHaltOfScope } from '../../store/halts.ts';
import { assetsResumedAt, newestPriceTimes, releasedSince } from '../../store/monitor-feeds.ts';
import { DEFAULT_MAX_PRICE_STALENESS_MS, MAX_PRICE_STALENESS_MS, valueInUsd } from '../../store/prices.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { raiseAlert } from '../alerts.ts';
import { MONITOR_ACTOR, type MonitorContext } from './check.ts';
import { reportSystemFindings } from './system-checks.ts';

/** One hour against the mean hour of the day before, five times over, above USD 100,000 (MONITOR_VOLUME_*). */
export const DEFAULT_VOLUME_BREAKER: VolumeBreakerPolicy = Object.freeze({
  window_ms: 60 * 60_000,
  baselineWindows: 24,
  multiple: 5,
  floorUsd: usdFromWholeDollars(100_000n),
});

/**
 * Releases read per check. At the bound the oldest are left out: the baseline reads low and the current window is
 * read first (newest first), so the breaker can only trip sooner, never later (fail closed).
 */
export const VOLUME_READ_CAP = 50_000;

/**
 * The withdrawn-volume circuit breaker, per asset: the volume released in the last window against its rolling
 * baseline (src/core/monitor/volume-breaker.ts). A trip is a critical finding that halts that asset (whatever
 * MONITOR_HALT_SCOPE says: the anomaly is the asset's) and pages. An asset the monitor already halted is not judged
 * again (an operator's halt does not silence it), and releases before the monitor's last asset halt was lifted by an
 * approved two-person resume do not count in the current window, so resuming it is not undone at once.
 * Answers the assets it tripped.
 */
export async function checkWithdrawnVolume(monitor: MonitorContext): Promise<string[]> {
  const { services } = monitor;
  const policy = monitor.volumeBreaker ?? DEFAULT_VOLUME_BREAKER;
  const now = services.clock.now();
  const trips = await inTransaction(services.database, async (tx) => {
    const since = new Date(now.getTime() - volumeLookback_ms(policy)).toISOString();
    const releases = new Map<string, ReleasedVolume[]>();
    for (const row of await releasedSince(tx, since, VOLUME_READ_CAP)) {
      const amount = /^[0-9]{1,80}$/.test(row.amount) ? BigInt(row.amount) : undefined;
      // A row whose amount is not a number is the withdrawal check's finding, not a volume.
      if (amount === undefined) continue;
      const list = releases.get(row.asset) ?? [];
      list.push({ amount, releasedAt: new Date(row.released_at) });
      releases.set(row.asset, list);
    }
    const resumed = await assetsResumedAt(tx, MONITOR_ACTOR, now.toISOString());
    const tripped: { asset: string; detail: string }[] = [];
    for (const [asset, list] of releases) {
      const resumedAt = resumed.get(asset);
      const volume = assetVolume(
        list,
        now,
        policy,
        resumedAt === undefined ? undefined : new Date(resumedAt),
      );
      const usd = await usdOf(tx, asset, volume.current, now);
      if (!volumeTrips(volume, policy, usd)) continue;
      if ((await activeHaltOfScope(tx, { scope: 'asset', asset }, MONITOR_ACTOR)) !== undefined) continue;
      tripped.push({
        asset,
        detail: `${volume.current} base units of ${asset} released in the last ${policy.window_ms / 1000} s (${
          usd === undefined ? 'unpriced' : `USD ${formatUsdExact(usd)}`
        }), more than ${policy.multiple} times the baseline of ${volume.baselineTotal} over the ${policy.baselineWindows} windows before`,
      });
    }
    return tripped;
  });
  if (trips.length > 0)
    await reportSystemFindings(
      monitor,
      trips.map(({ asset, detail }) => ({
        check: 'volume_breaker',
        subject: `volume:${asset.slice(0, 32)}`,
        detail,
        scope: { scope: 'asset', asset, network: null },
        about: { asset: asset.slice(0, 32) },
      })),
    );
  return trips.map((trip) => trip.asset);
}

/** The volume's USD value at the newest price (up to a week old: the floor is a guide, not a valuation). */
async function usdOf(tx: Tx, asset: string, units: bigint, at: Date): Promise<Usd | undefined> {
  try {
    getAsset(asset);
    return (await valueInUsd(tx, asset, units, at, { maxStaleness_ms: MAX_PRICE_STALENESS_MS })).usd;
  } catch (error) {
    if (error instanceof DomainError) return undefined;
    throw error;
  }
}

/**
 * Price staleness as a self-check: an asset whose newest price is older than the staleness limit the risk engine
 * applies (DEFAULT_MAX_PRICE_STALENESS_MS) has every withdrawal held (a missing price fails closed); this makes it
 * visible. A warning alert per asset, deduplicated while unresolved (a raise again only bumps it). Answers the
 * stale assets.
 */
export async function checkPriceStaleness(monitor: MonitorContext): Promise<string[]> {
  const { services } = monitor;
  const now = services.clock.now();
  const stale = [...(await newestPriceTimes(services.database))].filter(
    ([, at]) => now.getTime() - Date.parse(at) > DEFAULT_MAX_PRICE_STALENESS_MS,
  );
  if (stale.length === 0) return [];
  await inTransaction(services.database, async (tx) => {
    for (const [asset, at] of stale)
      await raiseAlert(tx, services, {
        kind: 'monitor.price_stale',
        severity: 'warning',
        fingerprint: asset.slice(0, 200),
        title:
          `The newest ${asset} price is from ${at}: ${asset} withdrawals are held until a fresh one`.slice(
            0,
            200,
          ),
        subject: `price:${asset}`.slice(0, 200),
        details: {
          asset: asset.slice(0, 32),
          newest_at: at.slice(0, 40),
          max_staleness_ms: DEFAULT_MAX_PRICE_STALENESS_MS,
        },
      });
  });
  return stale.map(([asset]) => asset);
}
