import { coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError } from '../../core/errors.ts';
import { getAsset } from '../../core/money/index.ts';
import { addUsd, formatUsdExact, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import { heldBecause, type ScreeningDecision, screen } from '../../core/risk/screening.ts';
import {
  type AccountFacts,
  type DestinationFacts,
  MINIMAL_WITHDRAWAL_RULES,
  type WithdrawalFacts,
} from '../../core/risk/withdrawal-rules.ts';
import type { AddressBookEntry } from '../../store/address-book.ts';
import type { Principal } from '../../store/identity/principals.ts';
import type { SettingValue } from '../../store/identity/settings-history.ts';
import { type PricePoint, priceAt, priceFromRow } from '../../store/prices.ts';
import type { Tx } from '../../store/transaction.ts';
import type { ScreeningRows } from '../../store/withdrawal-confirmation.ts';
import { DAILY_TOTAL_READ_CAP, type WithdrawalRow } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';
import type { ServiceContext } from '../context.ts';

/**
 * The screening interface: the full risk engine replaces the rule list, not this contract. It decides on facts
 * gathered before it runs (screeningFacts); it reads nothing itself.
 */
export interface Screener {
  screen(facts: WithdrawalFacts, withdrawal: WithdrawalRow): ScreeningDecision | Promise<ScreeningDecision>;
}

export const minimalScreener: Screener = {
  screen: (facts) => screen(MINIMAL_WITHDRAWAL_RULES, facts),
};

/** An asset's USD price at `at`, or undefined when there is none or it is stale (the rule then fails closed). */
export async function priceOf(tx: Tx, asset: string, at: Date): Promise<Usd | undefined> {
  return usdPriceOf(() => priceAt(tx, asset, at));
}

async function usdPriceOf(point: () => PricePoint | Promise<PricePoint>): Promise<Usd | undefined> {
  try {
    return (await point()).usdPrice;
  } catch (error) {
    // A missing or stale price is not an error of the request: the rule that needs it fails closed.
    if (error instanceof DomainError && error.code === 'PRICE_UNAVAILABLE') return undefined;
    throw error;
  }
}

/** The facts screening and the releaser both weigh, the account's and the destination's. */
export function accountAndDestinationFacts(
  withdrawal: WithdrawalRow,
  subject: {
    readonly principal: Principal | undefined;
    readonly entry: AddressBookEntry | undefined;
    readonly cooling: SettingValue | undefined;
  },
  now: Date,
): AccountFacts & DestinationFacts {
  const { principal, entry } = subject;
  if (principal === undefined) throw new Error('the account of a withdrawal is gone');
  return {
    now,
    accountLockedAt: principal.locked_at,
    withdrawalsLockedUntil: principal.withdrawals_locked_until,
    destinationUsableFrom:
      entry === undefined
        ? new Date(8.64e15)
        : coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, coolingMsOf(subject.cooling)),
    // An entry that no longer pays the withdrawal's address is as good as removed.
    destinationRemoved:
      entry === undefined || entry.removedAt !== null || entry.address !== withdrawal.destination_address,
  };
}

/**
 * Screens a withdrawal on the rows its confirmation read: facts that cannot be gathered, and a screener that
 * throws, hold it for review (fail closed).
 */
export async function screenWithdrawal(
  tx: Tx,
  context: ServiceContext,
  screener: Screener,
  withdrawal: WithdrawalRow,
  principal: Principal,
  rows: ScreeningRows,
): Promise<ScreeningDecision> {
  let facts: WithdrawalFacts;
  try {
    facts = await screeningFacts(tx, context, withdrawal, principal, rows);
  } catch (error) {
    return heldBecause('facts', error, 'screening could not gather its facts');
  }
  try {
    return await screener.screen(facts, withdrawal);
  } catch (error) {
    return heldBecause('screener', error, 'screening failed');
  }
}

/**
 * The withdrawal's USD value and the price point screening valued it with, as stored on the row at confirmation
 * (losses and claims count from what was decided). All null when no fresh price was known: screening held it.
 */
export function valuationOf(
  withdrawal: WithdrawalRow,
  rows: ScreeningRows,
  now: Date,
): Pick<WithdrawalRow, 'usd_value' | 'usd_price' | 'usd_price_at' | 'usd_price_source'> {
  let point: PricePoint;
  try {
    point = priceFromRow(rows.price, withdrawal.asset, now);
  } catch {
    return { usd_value: null, usd_price: null, usd_price_at: null, usd_price_source: null };
  }
  return {
    usd_value: formatUsdExact(
      usdValue(BigInt(withdrawal.amount), getAsset(withdrawal.asset), point.usdPrice),
    ),
    usd_price: formatUsdExact(point.usdPrice),
    usd_price_at: point.at.toISOString(),
    usd_price_source: point.source,
  };
}

/** The facts the minimal rules need, from the confirmation's rows (another asset's price is read if needed). */
async function screeningFacts(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  principal: Principal,
  rows: ScreeningRows,
): Promise<WithdrawalFacts> {
  const now = context.clock.now();
  const subject = accountAndDestinationFacts(withdrawal, { principal, ...rows }, now);
  // One price per asset: the day's earlier withdrawals are valued at the same price as this one.
  const prices = new Map<string, Usd | undefined>([
    [withdrawal.asset, await usdPriceOf(() => priceFromRow(rows.price, withdrawal.asset, now))],
  ]);
  const usdOfUnits = async (asset: string, units: bigint): Promise<Usd | undefined> => {
    if (!prices.has(asset)) prices.set(asset, await priceOf(tx, asset, now));
    const price = prices.get(asset);
    return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
  };
  const usd = await usdOfUnits(withdrawal.asset, BigInt(withdrawal.amount));
  // Past the cap the total is not known: the daily limit holds (fails closed) rather than undercount.
  const overCap = rows.confirmedSince.length > DAILY_TOTAL_READ_CAP;
  // Added per asset as bigints, then valued once per asset.
  const byAsset = new Map<string, bigint>();
  for (const other of overCap ? [] : rows.confirmedSince)
    byAsset.set(other.asset, (byAsset.get(other.asset) ?? 0n) + BigInt(other.amount));
  let last24h: Usd | undefined = USD_ZERO;
  for (const [asset, units] of byAsset) {
    const value = await usdOfUnits(asset, units);
    last24h = value === undefined || last24h === undefined ? undefined : addUsd(last24h, value);
  }
  return {
    ...subject,
    usdValue: usd,
    usdLast24h: last24h,
    ...(overCap ? { last24hOverReadCap: DAILY_TOTAL_READ_CAP } : {}),
    dailyLimitUsd: context.withdrawals.dailyLimitUsd,
  };
}
