import { ManualClock } from '../../../src/core/clock.ts';
import { DomainError, type ErrorCode } from '../../../src/core/errors.ts';
import type { Engine } from '../../../src/store/database.ts';
import { type Account, createLedger, type Ledger } from '../../../src/store/ledger/index.ts';
import { type FreshDatabase, freshDatabase } from '../../support/engines.ts';

/** A fresh ledger with a funded customer, the platform's custody account and a second customer. */
export interface LedgerWorld {
  readonly fresh: FreshDatabase;
  readonly ledger: Ledger;
  readonly clock: ManualClock;
  readonly custody: Account;
  readonly alice: Account;
  readonly bob: Account;
  drop(): Promise<void>;
}

export async function ledgerWorld(
  engine: Engine,
  options: { aliceBalance?: bigint; poolSize?: number } = {},
): Promise<LedgerWorld> {
  const fresh = await freshDatabase(
    engine,
    options.poolSize === undefined ? {} : { poolSize: options.poolSize },
  );
  const clock = new ManualClock();
  const ledger = createLedger(fresh.database, clock);
  const custody = await ledger.openAccount({
    ownerId: 'platform',
    asset: 'BTC',
    kind: 'custody',
    debitsMustNotExceedCredits: false,
  });
  const alice = await ledger.openAccount({
    ownerId: 'alice',
    asset: 'BTC',
    kind: 'customer',
    debitsMustNotExceedCredits: true,
  });
  const bob = await ledger.openAccount({
    ownerId: 'bob',
    asset: 'BTC',
    kind: 'customer',
    debitsMustNotExceedCredits: true,
  });
  const aliceBalance = options.aliceBalance ?? 1000n;
  if (aliceBalance > 0n) {
    await ledger.transfer({
      id: 'deposit-alice',
      debitAccountId: custody.id,
      creditAccountId: alice.id,
      asset: 'BTC',
      amount: aliceBalance,
      code: 'deposit',
    });
  }
  return { fresh, ledger, clock, custody, alice, bob, drop: () => fresh.drop() };
}

/** Checks a refusal is the DomainError we expect, naming the field at fault. */
export function isDomainError(code: ErrorCode, field?: string): (error: unknown) => boolean {
  return (error) => {
    if (!(error instanceof DomainError)) throw error;
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
    if (field !== undefined && error.field !== field) {
      throw new Error(`expected field ${field}, got ${error.field}: ${error.message}`);
    }
    return true;
  };
}
