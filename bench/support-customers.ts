import { randomBytes } from 'node:crypto';
import { payments } from 'bitcoinjs-lib';
import { normalizeAddress } from '../src/core/addresses/index.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { depositApprovedBy } from '../src/services/deposits.ts';
import { issueSession } from '../src/services/identity/sessions.ts';
import { insertEnrolledTotp } from '../src/simulation/enrolled-totp.ts';
import { insertEntry } from '../src/store/address-book.ts';
import { insertPrincipal, updatePrincipal } from '../src/store/identity/principals.ts';
import { recordPrice } from '../src/store/prices.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { actingAs } from '../test/support/actors.ts';

/*
 * Customers ready to withdraw, set up through the store and services directly (no argon2 per sign-up, no
 * 24 h waits): a verified account with an active TOTP factor, one BTC address added three days ago (long
 * cooled), 1 BTC deposited through depositApprovedBy (recorded by one operator, approved by another), and an
 * AAL2 session issued by issueSession.
 */

/**
 * Each bench customer's own address: customers paying one address would trip the fan-in rule (N accounts to one
 * destination are rejected), as a 2022-style drain should.
 */
function destination() {
  const address = payments.p2wpkh({ hash: randomBytes(20) }).address;
  if (address === undefined) throw new Error('assertion failed: a P2WPKH address');
  return normalizeAddress('bitcoin', address);
}
export const MAX_BENCH_CUSTOMERS = 5000;

/** Two operators, as every deposit entered by hand needs: one records it, the other approves it. */
const BENCH_DEPOSITORS = {
  recorder: actingAs('admin', 'bench'),
  approver: actingAs('incident_commander', 'bench-second'),
};
const DAY_MS = 24 * 60 * 60_000;
const SEED_BATCH = 64;
const DEPOSIT_WORKERS = 8;

export interface BenchCustomer {
  readonly id: string;
  readonly email: string;
  readonly token: string;
  /** Base32 TOTP secret, as the customer's authenticator app holds it. */
  readonly secret: string;
  readonly destinationId: string;
}

/**
 * `count` ready customers. `passwordHash` is computed once by the caller: every account shares it, which
 * costs nothing here because nothing in the withdrawal path reads it.
 */
export async function seedCustomers(
  context: ServiceContext,
  count: number,
  passwordHash: string,
  emailPrefix: string,
): Promise<BenchCustomer[]> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BENCH_CUSTOMERS)
    throw new RangeError(`seed 1..${MAX_BENCH_CUSTOMERS} customers`);
  const customers: BenchCustomer[] = [];
  for (let first = 0; first < count; first += SEED_BATCH) {
    const batch = await inTransaction(context.database, async (tx) => {
      const seeded: BenchCustomer[] = [];
      for (let i = first; i < Math.min(count, first + SEED_BATCH); i++) {
        const email = `${emailPrefix}-${i}@bench.example`;
        const now = context.clock.now();
        const past = new Date(now.getTime() - 3 * DAY_MS).toISOString();
        const principal = await insertPrincipal(tx, {
          kind: 'customer',
          email,
          passwordHash,
          role: null,
          now: past,
        });
        await updatePrincipal(tx, principal.id, { email_verified_at: past });
        // Sealed and bound as enrolment does, and its fingerprint in the audit log: the monitor checks both.
        const { secret } = await insertEnrolledTotp(tx, context, principal, new Date(past));
        const address = destination();
        const entry = await insertEntry(tx, {
          accountId: principal.id,
          network: 'bitcoin',
          address: address.normalized,
          addressType: address.type,
          label: 'Cold wallet',
          coolingMs: DAY_MS,
          createdAt: new Date(past),
        });
        const session = await issueSession(tx, context, principal, 2, null, {
          ip: '127.0.0.1',
          userAgent: 'drawbridge-bench',
        });
        seeded.push({ id: principal.id, email, token: session.token, secret, destinationId: entry.id });
      }
      return seeded;
    });
    customers.push(...batch);
  }
  // Deposits go through the service, a few at a time (PostgreSQL runs them side by side; SQLite in turn).
  let next = 0;
  await Promise.all(
    Array.from({ length: DEPOSIT_WORKERS }, async () => {
      while (next < customers.length) {
        const i = next++;
        await depositApprovedBy(context, BENCH_DEPOSITORS, {
          account_id: customers[i]!.id,
          asset: 'BTC',
          network: 'bitcoin',
          amount: '1',
          txid: `benchdeposit${emailPrefix.replace(/[^A-Za-z0-9]/g, '')}${i}`,
          output_index: 0,
        });
      }
    }),
  );
  await recordPrice(context.database, {
    asset: 'BTC',
    at: context.clock.now(),
    usdPrice: '60000',
    source: 'bench',
  });
  return customers;
}
