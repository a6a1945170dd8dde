import { type Account, openAccount } from '../../store/ledger/index.ts';
import type { Tx } from '../../store/transaction.ts';

export const PLATFORM_OWNER = 'platform';

/** A customer's balance in one asset: may never go below zero. */
export function customerAccount(tx: Tx, accountId: string, asset: string, at: Date): Promise<Account> {
  return openAccount(
    tx,
    { ownerId: accountId, asset, kind: 'customer', debitsMustNotExceedCredits: true },
    at,
  );
}

/**
 * The platform's side of the chain: deposits are debited here and withdrawals credited, so its balance mirrors
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
