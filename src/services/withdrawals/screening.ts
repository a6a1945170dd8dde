import { COOLING_SETTING, coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError } from '../../core/errors.ts';
import { getAsset } from '../../core/money/index.ts';
import { addUsd, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import { heldBecause, type ScreeningDecision, screen } from '../../core/risk/screening.ts';
import {
  type AccountFacts,
  type DestinationFacts,
  MINIMAL_WITHDRAWAL_RULES,
  type WithdrawalFacts,
} from '../../core/risk/withdrawal-rules.ts';
import { entryFromRow, entryQuery } from '../../store/address-book.ts';
import { rowsOf } from '../../store/compiled-query.ts';
import { lockPrincipalQuery, type Principal } from '../../store/identity/principals.ts';
import { settingFromRow, settingQuery } from '../../store/identity/settings-history.ts';
import { type PricePoint, priceFromRow, priceQuery } from '../../store/prices.ts';
import { type Reads, readTogether, type Tx } from '../../store/transaction.ts';
import { confirmedSinceQuery, DAILY_TOTAL_READ_CAP, type WithdrawalRow } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';

const principalQuery = (tx: Tx, id: string) => lockPrincipalQuery(tx, id, false);

import type { ServiceContext } from '../context.ts';

const DAY_MS = 24 * 60 * 60_000;

/**
 * The screening interface: the full risk engine replaces the rule list, not this contract. `reads`, when given,
 * are the reads screening needs: the confirmation sends them with its own and hands what they decode to
 * `screen`, which without it reads for itself.
 */
export interface Screener<R = never> {
  reads?(tx: Tx, context: ServiceContext, withdrawal: WithdrawalRow): Reads<R>;
  screen(tx: Tx, context: ServiceContext, withdrawal: WithdrawalRow, read?: R): Promise<ScreeningDecision>;
}

/** An asset's USD price at `at`, or undefined when there is none or it is stale (the rule then fails closed). */
export async function priceOf(tx: Tx, asset: string, at: Date): Promise<Usd | undefined> {
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

/**
 * The facts screening and the releaser both weigh, the account's and the destination's, from one set of reads:
 * the account row, the address-book entry and the account's cooling setting now.
 */
export function accountAndDestinationReads(
  tx: Tx,
  withdrawal: WithdrawalRow,
  now: Date,
): Reads<AccountFacts & DestinationFacts> {
  return {
    statements: [
      principalQuery(tx, withdrawal.account_id),
      entryQuery(tx, withdrawal.account_id, withdrawal.destination_id),
      settingQuery(tx, withdrawal.account_id, COOLING_SETTING, now.toISOString()),
    ],
    decode: ([principals, entries, coolings]) => {
      const principal = principals?.rows[0] as Principal | undefined;
      if (principal === undefined) throw new Error('the account of a withdrawal is gone');
      const entry = entryFromRow(entries?.rows[0] as Parameters<typeof entryFromRow>[0]);
      const cooling = coolingMsOf(settingFromRow(coolings?.rows[0] as Parameters<typeof settingFromRow>[0]));
      return {
        now,
        accountLockedAt: principal.locked_at,
        withdrawalsLockedUntil: principal.withdrawals_locked_until,
        destinationUsableFrom:
          entry === undefined
            ? new Date(8.64e15)
            : coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, cooling),
        // An entry that no longer pays the withdrawal's address is as good as removed.
        destinationRemoved:
          entry === undefined || entry.removedAt !== null || entry.address !== withdrawal.destination_address,
      };
    },
  };
}

/** The facts the minimal rules need: every read in one round trip, sent alone or with a caller's own. */
function factsReads(tx: Tx, context: ServiceContext, withdrawal: WithdrawalRow): Reads<WithdrawalFacts> {
  const now = context.clock.now();
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  const shared = accountAndDestinationReads(tx, withdrawal, now);
  return {
    statements: [
      ...shared.statements,
      priceQuery(tx, withdrawal.asset, now),
      confirmedSinceQuery(tx, withdrawal.account_id, since, withdrawal.id),
    ],
    decode: async (results) => {
      const subject = await shared.decode(results.slice(0, shared.statements.length));
      const [ownPrices, earlier] = results.slice(shared.statements.length);
      // One price per asset: the day's earlier withdrawals are valued at the same price as this one.
      const prices = new Map<string, Usd | undefined>([
        [
          withdrawal.asset,
          usdPriceOf(() =>
            priceFromRow(ownPrices?.rows[0] as Parameters<typeof priceFromRow>[0], withdrawal.asset, now),
          ),
        ],
      ]);
      const usdOfUnits = async (asset: string, units: bigint): Promise<Usd | undefined> => {
        if (!prices.has(asset)) prices.set(asset, await priceOf(tx, asset, now));
        const price = prices.get(asset);
        return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
      };
      const usd = await usdOfUnits(withdrawal.asset, BigInt(withdrawal.amount));
      const rows = (earlier?.rows ?? []) as { asset: string; amount: string }[];
      // Past the cap the total is not known: the daily limit holds (fails closed) rather than undercount.
      const overCap = rows.length > DAILY_TOTAL_READ_CAP;
      // Added per asset as bigints, then valued once per asset.
      const byAsset = new Map<string, bigint>();
      for (const other of overCap ? [] : rows)
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
    },
  };
}

/** Facts, or why they could not be gathered (the rules then hold the withdrawal: fail closed). */
type Gathered = { facts: WithdrawalFacts; error?: undefined } | { error: unknown; facts?: undefined };

function failClosed(reads: Reads<WithdrawalFacts>): Reads<Gathered> {
  return {
    statements: reads.statements,
    decode: async (results) => {
      try {
        return { facts: await reads.decode(results) };
      } catch (error) {
        return { error };
      }
    },
  };
}

export const minimalScreener: Screener<Gathered> = {
  reads: (tx, context, withdrawal) => failClosed(factsReads(tx, context, withdrawal)),
  async screen(tx, context, withdrawal, read) {
    const gathered = read ?? (await readTogether(tx, failClosed(factsReads(tx, context, withdrawal))))[0];
    if (gathered.error !== undefined) {
      return heldBecause('facts', gathered.error, 'screening could not gather its facts');
    }
    return screen(MINIMAL_WITHDRAWAL_RULES, gathered.facts);
  },
};
