import { type Account, type OpenAccountInput, openAccount } from '../../store/ledger/index.ts';
import type { Tx } from '../../store/transaction.ts';

export const PLATFORM_OWNER = 'platform';

const customer = (accountId: string, asset: string): OpenAccountInput => ({
  ownerId: accountId,
  asset,
  kind: 'customer',
  debitsMustNotExceedCredits: true,
});
const inFlight = (accountId: string, asset: string): OpenAccountInput => ({
  ownerId: accountId,
  asset,
  kind: 'withdrawal_in_flight',
  debitsMustNotExceedCredits: true,
});

/** A customer's balance in one asset: may never go below zero. */
export function customerAccount(tx: Tx, accountId: string, asset: string, at: Date): Promise<Account> {
  return openAccount(tx, customer(accountId, asset), at);
}

/** The two accounts a withdrawal's hold moves between: the customer's balance and their in-flight account. */
export function holdAccountsFor(
  accountId: string,
  asset: string,
): readonly [balance: OpenAccountInput, inFlight: OpenAccountInput] {
  return [customer(accountId, asset), inFlight(accountId, asset)];
}

/**
 * A customer's withdrawals between confirmation and the chain: each hold is a pending transfer from the
 * customer's balance to this account, posted when the chain confirms, and then paid out of it to custody
 * (the amount) and to fees (the fee). One per customer and asset, so concurrent confirmations of different
 * customers never wait on a shared row (crediting the platform's custody account at hold time made every
 * confirmation on PostgreSQL queue behind one row lock). Its balance never goes below zero: settlement can
 * only pay out what a posted hold put in.
 */
export function inFlightAccount(tx: Tx, accountId: string, asset: string, at: Date): Promise<Account> {
  return openAccount(tx, inFlight(accountId, asset), at);
}

/**
 * The platform's side of the chain: deposits are debited here and settled withdrawals credited, so its balance mirrors
 * (negatively) what custody holds for customers. It may go negative by design.
 */
export function custodyAccount(tx: Tx, asset: string, at: Date): Promise<Account> {
  return openAccount(
    tx,
    { ownerId: PLATFORM_OWNER, asset, kind: 'custody', debitsMustNotExceedCredits: false },
    at,
  );
}

export function feesAccount(tx: Tx, asset: string, at: Date): Promise<Account> {
  return openAccount(
    tx,
    { ownerId: PLATFORM_OWNER, asset, kind: 'fees', debitsMustNotExceedCredits: false },
    at,
  );
}
