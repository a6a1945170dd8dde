/**
 * The ledger's shapes as the rest of Drawbridge sees them: amounts are `bigint` base units, times are
 * `Date`. Rows in the database keep amounts as decimal strings; `rows.ts` converts at the edge.
 */

export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending';

export interface Account {
  readonly id: string;
  readonly ownerId: string;
  readonly asset: string;
  readonly kind: string;
  /** Customer accounts: true. Platform accounts that mirror the outside world ('custody') may go negative. */
  readonly debitsMustNotExceedCredits: boolean;
  readonly postedDebits: bigint;
  readonly postedCredits: bigint;
  readonly pendingDebits: bigint;
  readonly pendingCredits: bigint;
  readonly createdAt: Date;
}

export interface Transfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly asset: string;
  readonly amount: bigint;
  /** The hold a `post_pending` or `void_pending` resolves; null otherwise. */
  readonly pendingId: string | null;
  readonly code: string;
  readonly reference: string | null;
  readonly createdAt: Date;
}

export interface OpenAccountInput {
  readonly ownerId: string;
  readonly asset: string;
  readonly kind: string;
  readonly debitsMustNotExceedCredits: boolean;
}

/** A single-phase transfer or a hold. The id is chosen by the caller so a retry is recognised. */
export interface TransferInput {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  /** Must equal the asset of both accounts, so a mixed-up account id is refused, not booked. */
  readonly asset: string;
  readonly amount: bigint;
  /** Why the money moves ('deposit', 'withdrawal', 'reimbursement'); free text for reports. */
  readonly code: string;
  readonly reference?: string | null;
}

/** Posts or voids the whole of a hold, exactly once. */
export interface ResolveHoldInput {
  readonly id: string;
  readonly pendingId: string;
  readonly code: string;
  readonly reference?: string | null;
}

export interface AccountBalance {
  readonly accountId: string;
  readonly asset: string;
  readonly postedDebits: bigint;
  readonly postedCredits: bigint;
  readonly pendingDebits: bigint;
  readonly pendingCredits: bigint;
  /** posted_credits - posted_debits - pending_debits: what the owner can still spend or hold. */
  readonly available: bigint;
}

export interface AssetTotals {
  readonly asset: string;
  /** Restricts the sum to accounts of this kind ('customer' totals are what the platform owes). */
  readonly kind: string | null;
  readonly accounts: number;
  readonly postedDebits: bigint;
  readonly postedCredits: bigint;
  readonly pendingDebits: bigint;
  readonly pendingCredits: bigint;
}

export function availableOf(
  account: Pick<Account, 'postedCredits' | 'postedDebits' | 'pendingDebits'>,
): bigint {
  return account.postedCredits - account.postedDebits - account.pendingDebits;
}
