import type { KeyObject } from 'node:crypto';
import { addUsd, compareUsd, formatUsd, type Usd } from '../money/usd.ts';
import {
  MONITOR_REFUSED,
  type MonitorVerdictRow,
  signedVerdictOf,
  verdictRefusal,
} from '../monitor/verdict.ts';
import type { ProofBinding } from '../withdrawals/proof-binding.ts';
import type { Rule } from './screening.ts';
import {
  type AccountFacts,
  accountNotLocked,
  type DestinationFacts,
  destinationCooled,
  securityChangeLock,
} from './withdrawal-rules.ts';

/** The ledger hold a withdrawal placed at confirmation, as the ledger has it now. */
export interface HoldFacts {
  readonly kind: string;
  readonly asset: string;
  /** Base units. */
  readonly amount: bigint;
  readonly reference: string | null;
  readonly debit: { readonly ownerId: string; readonly kind: string; readonly asset: string };
  readonly credit: { readonly ownerId: string; readonly kind: string; readonly asset: string };
  /** How the hold was resolved, if it was: posted or voided. */
  readonly resolvedBy: 'post_pending' | 'void_pending' | null;
}

/**
 * What the release rules look at, gathered in the releasing transaction by one function
 * (src/services/withdrawals/release-facts.ts). Re-verifying the proof's cryptography and the monitor's verdict
 * are further facts and rules here.
 */
export interface ReleaseFacts extends AccountFacts, DestinationFacts {
  readonly withdrawal: HeldWithdrawal;
  /** The first active halt that covers this withdrawal (src/store/halts.ts), or undefined. */
  readonly halt: { readonly id: string; readonly scope: string; readonly reason: string } | undefined;
  readonly proof: ProofBinding;
  /** The pending transfer whose id is the withdrawal's, or undefined when the ledger has none. */
  readonly hold: HoldFacts | undefined;
  /** What the account had released in the 24 h before now, this withdrawal excluded, valued in USD. */
  readonly releasedLast24h: ReleasedLast24h;
  readonly dailyLimitUsd: Usd;
  /** The monitor's verdict rows for this withdrawal, as stored (never trusted: the rule verifies signatures). */
  readonly verdicts: {
    readonly approve: MonitorVerdictRow | undefined;
    readonly reject: MonitorVerdictRow | undefined;
  };
  readonly monitorPublicKey: KeyObject;
}

/**
 * Nothing leaves without the independent monitor's approving verdict, signed with its own key, for this very
 * withdrawal, proof and payment. None yet: it waits (the monitor is behind; an alert says so past its lag). A
 * verdict that does not verify, names something else or rejects: held, as an integrity failure.
 */
export const monitorApproved: Rule<ReleaseFacts> = {
  name: 'monitor_approved',
  version: 2,
  evaluate(facts) {
    const { approve, reject } = facts.verdicts;
    // A rejection is final, whoever seems to have written it: one the monitor signed is its word; one it did not
    // is an integrity failure of its own. Either way, held.
    if (reject !== undefined) {
      const genuine = verdictRefusal(facts.monitorPublicKey, signedVerdictOf(reject), {
        withdrawal_id: facts.withdrawal.id,
      });
      return {
        outcome: 'review',
        reason:
          genuine === MONITOR_REFUSED
            ? 'the independent monitor rejected it'
            : `a rejection the monitor did not sign (${genuine ?? 'its statement approves'})`,
        critical: true,
      };
    }
    if (approve === undefined)
      return { outcome: 'wait', reason: "awaiting the independent monitor's verdict" };
    const refusal = verdictRefusal(facts.monitorPublicKey, signedVerdictOf(approve), {
      withdrawal_id: facts.withdrawal.id,
      account_id: facts.withdrawal.account_id,
      digest: facts.withdrawal.digest,
      ...(facts.proof.ok ? { proof_hash: facts.proof.proofHash } : {}),
      asset: facts.withdrawal.asset,
      network: facts.withdrawal.network,
      amount: facts.withdrawal.amount,
      destination: facts.withdrawal.destination_address,
    });
    if (refusal !== undefined) return { outcome: 'review', reason: refusal, critical: true };
    return { outcome: 'approve', reason: 'the independent monitor verified the proof and signed' };
  },
};

export type ReleasedLast24h =
  | { readonly kind: 'none' }
  | { readonly kind: 'valued'; readonly usd: Usd; readonly withdrawalUsd: Usd }
  | { readonly kind: 'unpriced' }
  | { readonly kind: 'over_cap'; readonly cap: number };

/**
 * The daily USD limit again at release, by release time: screening totals withdrawals by request time, so
 * withdrawals carried through time locks could otherwise leave together on one day, over the limit.
 */
export const releasedDailyUsdLimit: Rule<ReleaseFacts> = {
  name: 'released_daily_usd_limit',
  version: 1,
  evaluate(facts) {
    const released = facts.releasedLast24h;
    if (released.kind === 'none')
      return { outcome: 'approve', reason: 'nothing else released in 24 h (screening checked this one)' };
    if (released.kind === 'unpriced')
      return {
        outcome: 'review',
        reason: 'no USD price to total what was released in 24 h: held for review',
      };
    if (released.kind === 'over_cap')
      return {
        outcome: 'review',
        reason: `more than ${released.cap} withdrawals released in 24 h: held for review`,
      };
    const total = addUsd(released.usd, released.withdrawalUsd);
    if (compareUsd(total, facts.dailyLimitUsd) > 0) {
      return {
        outcome: 'review',
        reason: `USD ${formatUsd(total, { places: 2, rounding: 'up' })} released in 24 h with this one is over the daily limit of USD ${formatUsd(facts.dailyLimitUsd, { places: 2, rounding: 'down' })}`,
      };
    }
    return { outcome: 'approve', reason: 'within the daily USD limit by release time' };
  },
};

export const notHalted: Rule<ReleaseFacts> = {
  name: 'not_halted',
  version: 1,
  evaluate(facts) {
    if (facts.halt !== undefined)
      return { outcome: 'wait', reason: `a ${facts.halt.scope} halt is in force (${facts.halt.id})` };
    return { outcome: 'approve', reason: 'no halt covers it' };
  },
};

export const proofBound: Rule<ReleaseFacts> = {
  name: 'proof_bound',
  version: 1,
  evaluate(facts) {
    if (!facts.proof.ok) return { outcome: 'review', reason: facts.proof.reason, critical: true };
    return { outcome: 'approve', reason: 'the proof is bound to these terms' };
  },
};

/** The withdrawal's side of its hold: whose, in what, for how much, under which digest. */
export interface HeldWithdrawal {
  readonly id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  /** The address the row pays. */
  readonly destination_address: string;
  /** Base units, decimal digits. */
  readonly amount: string;
  readonly fee: string;
  readonly digest: string;
}

/**
 * Why `hold` is not the hold this withdrawal placed, or undefined when it is: a pending transfer under its id, for
 * exactly amount + fee, from the customer's balance to their in-flight account, in its asset, under its digest,
 * neither posted nor voided. The releaser refuses on it, and settlement raises an alarm on it.
 */
export function holdMismatch(withdrawal: HeldWithdrawal, hold: HoldFacts | undefined): string | undefined {
  if (hold === undefined) return 'no ledger hold was placed for it';
  if (hold.kind !== 'pending') return `its ledger entry is a ${hold.kind} transfer, not a hold`;
  if (hold.resolvedBy !== null)
    return `its hold was already ${hold.resolvedBy === 'post_pending' ? 'posted' : 'voided'}`;
  if (hold.amount !== BigInt(withdrawal.amount) + BigInt(withdrawal.fee))
    return `its hold is for ${hold.amount} base units, not amount + fee`;
  if (
    hold.asset !== withdrawal.asset ||
    hold.debit.asset !== withdrawal.asset ||
    hold.credit.asset !== withdrawal.asset
  )
    return 'its hold is in another asset';
  if (hold.debit.ownerId !== withdrawal.account_id || hold.debit.kind !== 'customer')
    return "its hold is not on the customer's balance";
  if (hold.credit.ownerId !== withdrawal.account_id || hold.credit.kind !== 'withdrawal_in_flight')
    return "its hold does not go to the customer's in-flight account";
  if (hold.reference !== withdrawal.digest) return 'its hold names another digest';
  return undefined;
}

/** The money was held for this very withdrawal (`holdMismatch`): a forged queued row with no hold stops here. */
export const holdInPlace: Rule<ReleaseFacts> = {
  name: 'hold_in_place',
  version: 1,
  evaluate(facts) {
    const mismatch = holdMismatch(facts.withdrawal, facts.hold);
    if (mismatch !== undefined) return { outcome: 'review', reason: mismatch, critical: true };
    return { outcome: 'approve', reason: 'amount + fee is held for it' };
  },
};

/**
 * Everything that must still hold at the moment of release, merged by `screen`: the account and destination rules
 * are screening's own, written once.
 */
export const RELEASE_RULES: readonly Rule<ReleaseFacts>[] = [
  notHalted,
  proofBound,
  monitorApproved,
  holdInPlace,
  accountNotLocked,
  securityChangeLock,
  destinationCooled,
  releasedDailyUsdLimit,
];
