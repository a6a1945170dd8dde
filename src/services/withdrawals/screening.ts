import { coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError } from '../../core/errors.ts';
import { getAsset } from '../../core/money/index.ts';
import { addUsd, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import { type ScreeningDecision, screen } from '../../core/risk/screening.ts';
import { MINIMAL_WITHDRAWAL_RULES, type WithdrawalFacts } from '../../core/risk/withdrawal-rules.ts';
import { findEntry } from '../../store/address-book.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { priceAt } from '../../store/prices.ts';
import type { Tx } from '../../store/transaction.ts';
import { confirmedSince, type WithdrawalRow } from '../../store/withdrawals.ts';
import { accountCoolingMs } from '../address-book.ts';
import type { ServiceContext } from '../context.ts';

const DAY_MS = 24 * 60 * 60_000;

/** The screening interface: the full risk engine replaces the rule list, not this contract. */
export interface Screener {
  screen(tx: Tx, context: ServiceContext, withdrawal: WithdrawalRow): Promise<ScreeningDecision>;
}

async function priceOf(tx: Tx, asset: string, at: Date): Promise<Usd | undefined> {
  try {
    return (await priceAt(tx, asset, at)).usdPrice;
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
  const principal = await findPrincipal(tx, withdrawal.account_id);
  if (principal === undefined) throw new Error('the account of a withdrawal is gone');
  const entry = await findEntry(tx, withdrawal.account_id, withdrawal.destination_id);
  const cooling = await accountCoolingMs(tx, withdrawal.account_id, now);
  // One price read per asset: the day's earlier withdrawals are valued at the same price as this one.
  const prices = new Map<string, Usd | undefined>();
  const usdOfUnits = async (asset: string, units: bigint): Promise<Usd | undefined> => {
    if (!prices.has(asset)) prices.set(asset, await priceOf(tx, asset, now));
    const price = prices.get(asset);
    return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
  };
  const usd = await usdOfUnits(withdrawal.asset, BigInt(withdrawal.amount));
  let last24h: Usd | undefined = USD_ZERO;
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  for (const other of await confirmedSince(tx, withdrawal.account_id, since, withdrawal.id)) {
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
