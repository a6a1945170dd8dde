import { addUsd, compareUsd, formatUsd, type Usd } from '../money/usd.ts';
import type { Rule } from './screening.ts';

/** The account's state, as screening and the releaser both see it. */
export interface AccountFacts {
  readonly now: Date;
  readonly accountLockedAt: string | null;
  readonly withdrawalsLockedUntil: string | null;
}

/** The destination's address-book entry, as screening and the releaser both see it. */
export interface DestinationFacts {
  readonly now: Date;
  readonly destinationUsableFrom: Date;
  /** Removed, missing, or no longer the address the withdrawal pays. */
  readonly destinationRemoved: boolean;
}

/** What the minimal rule set looks at; gathered by the screening service inside the confirming transaction. */
export interface WithdrawalFacts extends AccountFacts, DestinationFacts {
  /** This withdrawal's value in USD; undefined when no price is available (fails closed). */
  readonly usdValue: Usd | undefined;
  /** USD already confirmed by this account in the last 24 h (excluding this one); undefined if unknown. */
  readonly usdLast24h: Usd | undefined;
  /**
   * Set when the account has more withdrawals in the 24 h than the read that values them takes: the total is not
   * known, so the limit fails closed (held), never open.
   */
  readonly last24hOverReadCap?: number;
  readonly dailyLimitUsd: Usd;
}

export const destinationCooled: Rule<DestinationFacts> = {
  name: 'destination_cooled',
  version: 1,
  evaluate(facts) {
    if (facts.destinationRemoved)
      return { outcome: 'reject', reason: 'the destination was removed from the address book' };
    if (facts.now < facts.destinationUsableFrom) {
      return {
        outcome: 'time_lock',
        reason: 'the destination is still in its cooling period',
        until: facts.destinationUsableFrom.toISOString(),
      };
    }
    return { outcome: 'approve', reason: 'the destination has cooled' };
  },
};

export const securityChangeLock: Rule<AccountFacts> = {
  name: 'security_change_lock',
  version: 1,
  evaluate(facts) {
    if (facts.withdrawalsLockedUntil !== null && facts.withdrawalsLockedUntil > facts.now.toISOString()) {
      return {
        outcome: 'time_lock',
        reason: 'withdrawals are paused after a recent password, email or MFA change',
        until: facts.withdrawalsLockedUntil,
      };
    }
    return { outcome: 'approve', reason: 'no recent security change' };
  },
};

/**
 * v2: a locked account is held for an operator at confirmation as at release (v1 rejected at confirmation while
 * the releaser held), so one rule decides in both places.
 */
export const accountNotLocked: Rule<AccountFacts> = {
  name: 'account_not_locked',
  version: 2,
  evaluate(facts) {
    if (facts.accountLockedAt !== null) return { outcome: 'review', reason: 'the account is locked' };
    return { outcome: 'approve', reason: 'the account is not locked' };
  },
};

export const dailyUsdLimit: Rule<WithdrawalFacts> = {
  name: 'daily_usd_limit',
  version: 1,
  evaluate(facts) {
    if (facts.last24hOverReadCap !== undefined) {
      return {
        outcome: 'review',
        reason: `more than ${facts.last24hOverReadCap} withdrawals in 24 h: too many to total, held for review`,
      };
    }
    if (facts.usdValue === undefined || facts.usdLast24h === undefined) {
      return { outcome: 'review', reason: 'no USD price to check the daily limit: held for review' };
    }
    const total = addUsd(facts.usdValue, facts.usdLast24h);
    if (compareUsd(total, facts.dailyLimitUsd) > 0) {
      return {
        outcome: 'review',
        reason: `USD ${formatUsd(total, { places: 2, rounding: 'up' })} in 24 h is over the daily limit of USD ${formatUsd(facts.dailyLimitUsd, { places: 2, rounding: 'down' })}`,
      };
    }
    return { outcome: 'approve', reason: 'within the daily USD limit' };
  },
};

export const MINIMAL_WITHDRAWAL_RULES: readonly Rule<WithdrawalFacts>[] = [
  accountNotLocked,
  securityChangeLock,
  destinationCooled,
  dailyUsdLimit,
];
