import type { Clock } from '../../core/clock.ts';
import type { Database } from '../database.ts';
import { inReadSnapshot as inSnapshot, inTransaction, type Tx } from '../transaction.ts';
import { openAccount } from './accounts.ts';
import { accountBalance, assetTotals } from './balances.ts';
import { type ConservationReport, conservationReport } from './conservation.ts';
import { getTransfer, placeHold, postHold, transfer, voidHold } from './transfers.ts';
import type {
  Account,
  AccountBalance,
  AssetTotals,
  OpenAccountInput,
  ResolveHoldInput,
  Transfer,
  TransferInput,
} from './types.ts';

/*
 * Two ways in, one behaviour:
 *   - inside a service's own transaction: `placeHold(tx, input, at)` and the other functions that
 *     take a `Tx` (from `inTransaction`), so a withdrawal and its hold commit or roll back together;
 *   - standalone: `createLedger(database, clock).placeHold(input)`, one transaction per call.
 */

export type { LockedAccounts } from './account-locks.ts';
export { accountPairReads, findAccount, getAccount, openAccount } from './accounts.ts';
export { accountBalance, assetTotals, balanceOf, ownerBalances } from './balances.ts';
export type { AssetConservation, ConservationReport, Discrepancy } from './conservation.ts';
export { conservationReport } from './conservation.ts';
export { findHold, findHolds } from './holds.ts';
export { getTransfer, placeHold, postHold, transfer, voidHold, voidHolds } from './transfers.ts';
export * from './types.ts';

export interface Ledger {
  openAccount(input: OpenAccountInput): Promise<Account>;
  transfer(input: TransferInput): Promise<Transfer>;
  placeHold(input: TransferInput): Promise<Transfer>;
  postHold(input: ResolveHoldInput): Promise<Transfer>;
  voidHold(input: ResolveHoldInput): Promise<Transfer>;
  getTransfer(id: string): Promise<Transfer | undefined>;
  accountBalance(accountId: string): Promise<AccountBalance>;
  assetTotals(asset: string, kind?: string | null): Promise<AssetTotals>;
  conservationReport(): Promise<ConservationReport>;
}

export function createLedger(database: Database, clock: Clock): Ledger {
  const write = <T>(work: (tx: Tx, at: Date) => Promise<T>): Promise<T> =>
    inTransaction(database, (tx) => work(tx, clock.now()));
  return Object.freeze({
    openAccount: (input: OpenAccountInput) => write((tx, at) => openAccount(tx, input, at)),
    transfer: (input: TransferInput) => write((tx, at) => transfer(tx, input, at)),
    placeHold: (input: TransferInput) => write((tx, at) => placeHold(tx, input, at)),
    postHold: (input: ResolveHoldInput) => write((tx, at) => postHold(tx, input, at)),
    voidHold: (input: ResolveHoldInput) => write((tx, at) => voidHold(tx, input, at)),
    getTransfer: (id: string) => getTransfer(database.db, id),
    accountBalance: (accountId: string) => accountBalance(database.db, accountId),
    assetTotals: (asset: string, kind: string | null = null) =>
      inSnapshot(database, (tx) => assetTotals(tx, asset, kind)),
    conservationReport: () => inSnapshot(database, conservationReport),
  });
}
