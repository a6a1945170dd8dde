import { COOLING_SETTING, coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError } from '../../core/errors.ts';
import { getAsset } from '../../core/money/index.ts';
import { addUsd, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import { type ScreeningDecision, screen } from '../../core/risk/screening.ts';
import { MINIMAL_WITHDRAWAL_RULES, type WithdrawalFacts } from '../../core/risk/withdrawal-rules.ts';
import { entryFromRow, entryQuery } from '../../store/address-book.ts';
import { rowsOf } from '../../store/compiled-query.ts';
import { lockPrincipalQuery } from '../../store/identity/principals.ts';
import { settingFromRow, settingQuery } from '../../store/identity/settings-history.ts';
import { type PricePoint, priceFromRow, priceQuery } from '../../store/prices.ts';
import { type Tx, together } from '../../store/transaction.ts';
import { confirmedSinceQuery, type WithdrawalRow } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';

const principalQuery = (tx: Tx, id: string) => lockPrincipalQuery(tx, id, false);

import type { ServiceContext } from '../context.ts';

const DAY_MS = 24 * 60 * 60_000;

/** The screening interface: the full risk engine replaces the rule list, not this contract. */
export interface Screener {
  screen(tx: Tx, context: ServiceContext, withdrawal: WithdrawalRow): Promise<ScreeningDecision>;
}

async function priceOf(tx: Tx, asset: string, at: Date): Promise<Usd | undefined> {
  const [row] = await rowsOf(tx, priceQuery(tx, asset, at));
  return usdPriceOf(() => priceFromRow(row, asset, at));
}

function usdPriceOf(point: () => PricePoint): Usd | undefined {
  try {
    return point().usdPrice;
  } catch (error) {
    // A missing or stale price is not an error of the request: the rule that needs it fails closed.
    if (error instanceof DomainError && error.code === 'PRICE_UNAVAILABLE') return undefined;
    throw error;
  }
}

async function gatherFacts(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
): Promise<WithdrawalFacts> {
  const now = context.clock.now();
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  // Every fact in one round trip.
  const [principals, entries, coolings, ownPrices, earlier] = await together(
    tx,
    principalQuery(tx, withdrawal.account_id),
    entryQuery(tx, withdrawal.account_id, withdrawal.destination_id),
    settingQuery(tx, withdrawal.account_id, COOLING_SETTING, now.toISOString()),
    priceQuery(tx, withdrawal.asset, now),
    confirmedSinceQuery(tx, withdrawal.account_id, since, withdrawal.id),
  );
  const principal = principals.rows[0];
  if (principal === undefined) throw new Error('the account of a withdrawal is gone');
  const entry = entryFromRow(entries.rows[0]);
  const cooling = coolingMsOf(settingFromRow(coolings.rows[0]));
  // One price per asset: the day's earlier withdrawals are valued at the same price as this one.
  const prices = new Map<string, Usd | undefined>([
    [withdrawal.asset, usdPriceOf(() => priceFromRow(ownPrices.rows[0], withdrawal.asset, now))],
  ]);
  const usdOfUnits = async (asset: string, units: bigint): Promise<Usd | undefined> => {
    if (!prices.has(asset)) prices.set(asset, await priceOf(tx, asset, now));
    const price = prices.get(asset);
    return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
  };
  const usd = await usdOfUnits(withdrawal.asset, BigInt(withdrawal.amount));
  let last24h: Usd | undefined = USD_ZERO;
  for (const other of earlier.rows) {
    const value = await usdOfUnits(other.asset, BigInt(other.amount));
    last24h = value === undefined || last24h === undefined ? undefined : addUsd(last24h, value);
  }
  return {
    now,
    accountLockedAt: principal.locked_at,
    withdrawalsLockedUntil: principal.withdrawals_locked_until,
    destinationUsableFrom:
      entry === undefined
        ? new Date(8.64e15)
        : coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, cooling),
    destinationRemoved: entry === undefined || entry.removedAt !== null,
    usdValue: usd,
    usdLast24h: last24h,
    dailyLimitUsd: context.withdrawals.dailyLimitUsd,
  };
}

export const minimalScreener: Screener = {
  async screen(tx, context, withdrawal) {
    let facts: WithdrawalFacts;
    try {
      facts = await gatherFacts(tx, context, withdrawal);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        outcome: 'review',
        until: undefined,
        results: [
          {
            rule: 'facts',
            version: 1,
            outcome: 'review',
            reason: `screening could not gather its facts (${message}): held`,
          },
        ],
      };
    }
    return screen(MINIMAL_WITHDRAWAL_RULES, facts);
  },
};
