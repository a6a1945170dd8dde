import { DomainError, invalidInput } from '../errors.ts';
import { type Asset, formatAmount } from '../money/index.ts';

/** What a new withdrawal request is weighed against before the customer spends a code on it. */
export interface RequestCheck {
  readonly asset: Asset;
  readonly amount: bigint;
  readonly fee: bigint;
  /** The customer's available balance in the asset (0 when they have no account in it). */
  readonly available: bigint;
  readonly destinationUsableFrom: Date;
  /** An active halt that covers this withdrawal, if any. */
  readonly halt: { readonly id: string; readonly scope: string; readonly reason: string } | undefined;
  readonly now: Date;
}

/**
 * Why a withdrawal that could never pass is refused now, or undefined: an amount below the fee, or more than the
 * balance can hold (amount + fee). An early answer for the customer, not the authority: the hold at confirmation,
 * screening and the releaser still decide.
 */
export function requestRefusal(check: RequestCheck): DomainError | undefined {
  return fundsRefusal(check);
}

/**
 * The amount and the balance as a customer reads them (the asset's unit, named), never the ledger's account ids or
 * base units: at request time, and when the hold at confirmation finds the balance gone (a concurrent withdrawal).
 */
export function fundsRefusal(
  check: Pick<RequestCheck, 'asset' | 'amount' | 'fee' | 'available'>,
): DomainError | undefined {
  const { asset, amount, fee } = check;
  const units = (value: bigint) => `${formatAmount(value, asset)} ${asset.code}`;
  if (amount < fee) return invalidInput('amount', `is below the network fee of ${units(fee)}`);
  if (amount + fee > check.available) {
    return new DomainError(
      'INSUFFICIENT_FUNDS',
      `${units(amount)} plus the ${units(fee)} fee is more than the ${units(check.available)} available`,
      {
        field: 'amount',
        details: {
          asset: asset.code,
          available: formatAmount(check.available, asset),
          required: formatAmount(amount + fee, asset),
        },
      },
    );
  }
  return undefined;
}

/** Something the customer should know before confirming: the withdrawal will wait, and until when or why. */
export type RequestWarning =
  | { readonly code: 'destination_cooling'; readonly detail: string; readonly usable_at: string }
  | {
      readonly code: 'withdrawals_halted';
      readonly detail: string;
      readonly halt_id: string;
      readonly scope: string;
    };

/**
 * What will make this withdrawal wait after it is confirmed: a destination still cooling (it is time-locked until
 * the entry is usable) and a halt that covers it (it stays queued until the halt is lifted).
 */
export function requestWarnings(check: RequestCheck): RequestWarning[] {
  const warnings: RequestWarning[] = [];
  if (check.halt !== undefined) {
    warnings.push({
      code: 'withdrawals_halted',
      detail: `withdrawals are halted (${check.halt.scope}): ${check.halt.reason}; it will not be released until the halt is lifted`,
      halt_id: check.halt.id,
      scope: check.halt.scope,
    });
  }
  if (check.destinationUsableFrom.getTime() > check.now.getTime()) {
    const usableAt = check.destinationUsableFrom.toISOString();
    warnings.push({
      code: 'destination_cooling',
      detail: `this address-book entry is still cooling: the withdrawal will be time-locked until ${usableAt}`,
      usable_at: usableAt,
    });
  }
  return warnings;
}
