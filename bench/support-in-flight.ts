import { sql } from 'kysely';
import { holdAccountsFor } from '../src/services/withdrawals/ledger-accounts.ts';
import type { Database } from '../src/store/database.ts';
import { openAccount, placeHold, transfer } from '../src/store/ledger/index.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { bulkAccountId } from './support-bulk-accounts.ts';

/*
 * Withdrawals in flight in bulk, as confirmation leaves them: `queued`, each with its hold placed through the ledger
 * (customer balance -> the customer's in-flight account, amount + fee, the digest as reference), so cancelling one
 * voids a real hold. The rows are written by the database in one statement, as support-withdrawal-history.ts writes
 * its rows (foreign keys and SQLite's withdrawal triggers set aside: the proof named is synthetic); the holds go
 * through the ledger's own functions, 500 to a transaction, after one deposit per account covering them all.
 * Ids are "00000000-0000-7000-<prefix>-<n>", so two sets made with different prefixes sort one after the other.
 */

const AMOUNT = 10_000n;
const FEE = 1_000n;
const PER_TRANSACTION = 500;

export function inFlightId(prefix: string, n: number): string {
  return `00000000-0000-7000-${prefix}-${String(n).padStart(12, '0')}`;
}

/** `count` queued withdrawals with holds, spread over bulk accounts [0, accounts), ids `inFlightId(prefix, n)`. */
export async function seedHeldWithdrawals(
  database: Database,
  input: { prefix: string; count: number; accounts: number; at: Date },
): Promise<void> {
  const { prefix, count, accounts, at } = input;
  const stamp = at.toISOString();
  const last = count - 1;
  const columns = sql.raw(
    'id, account_id, asset, network, amount, fee, destination_id, destination_address, destination_label, nonce, digest, summary, state, proof_id, confirm_failures, expires_at, first_use, release_after, reason, created_at, updated_at',
  );
  if (database.engine === 'sqlite') {
    await sql`pragma foreign_keys = off`.execute(database.db);
    try {
      await inTransaction(database, async (tx) => {
        const triggers = await sql<{ name: string; sql: string }>`
          select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'withdrawals'`.execute(
          tx,
        );
        for (const trigger of triggers.rows) await sql`drop trigger ${sql.id(trigger.name)}`.execute(tx);
        await sql`insert into withdrawals (${columns})
          with recursive n(i) as (select 0 union all select i + 1 from n where i < ${last})
          select printf('00000000-0000-7000-%s-%012d', ${prefix}, i), printf('00000000-0000-7000-8000-%012d', i % ${accounts}),
            'BTC', 'bitcoin', ${String(AMOUNT)}, ${String(FEE)}, printf('inflight-dest-%d', i % ${accounts}),
            printf('bc1qinflight%010d', i % ${accounts}), 'in flight', printf('inflight-nonce-%s-%d', ${prefix}, i),
            printf('inflight-digest-%s-%d', ${prefix}, i), 'in flight', 'queued', printf('inflight-proof-%s-%d', ${prefix}, i),
            0, ${stamp}, 0, ${stamp}, null, ${stamp}, ${stamp}
          from n`.execute(tx);
        for (const trigger of triggers.rows) await sql.raw(trigger.sql).execute(tx);
      });
    } finally {
      await sql`pragma foreign_keys = on`.execute(database.db);
    }
  } else {
    await inTransaction(database, async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      await sql`insert into withdrawals (${columns})
        select '00000000-0000-7000-' || ${prefix} || '-' || lpad(i::text, 12, '0'),
          '00000000-0000-7000-8000-' || lpad((i % ${accounts})::text, 12, '0'),
          'BTC', 'bitcoin', ${String(AMOUNT)}, ${String(FEE)}, 'inflight-dest-' || (i % ${accounts}),
          'bc1qinflight' || lpad((i % ${accounts})::text, 10, '0'), 'in flight', 'inflight-nonce-' || ${prefix} || '-' || i,
          'inflight-digest-' || ${prefix} || '-' || i, 'in flight', 'queued', 'inflight-proof-' || ${prefix} || '-' || i,
          0, ${stamp}, 0, ${stamp}, null, ${stamp}, ${stamp}
        from generate_series(0, ${last}::int) as i`.execute(tx);
    });
  }
  // One deposit per account, enough for every hold of this set, then the holds.
  const perAccount = BigInt(Math.ceil(count / accounts));
  for (let from = 0; from < accounts; from += PER_TRANSACTION) {
    await inTransaction(database, async (tx) => {
      const custody = await openAccount(
        tx,
        { ownerId: 'platform', asset: 'BTC', kind: 'custody', debitsMustNotExceedCredits: false },
        at,
      );
      for (let a = from; a < Math.min(accounts, from + PER_TRANSACTION); a++) {
        const [balance] = holdAccountsFor(bulkAccountId(a), 'BTC');
        const customer = await openAccount(tx, balance, at);
        await transfer(
          tx,
          {
            id: `inflight-deposit-${prefix}-${a}`,
            debitAccountId: custody.id,
            creditAccountId: customer.id,
            asset: 'BTC',
            amount: perAccount * (AMOUNT + FEE),
            code: 'deposit',
          },
          at,
        );
      }
    });
  }
  for (let from = 0; from < count; from += PER_TRANSACTION) {
    await inTransaction(database, async (tx) => {
      for (let i = from; i < Math.min(count, from + PER_TRANSACTION); i++) {
        const [balance, inFlight] = holdAccountsFor(bulkAccountId(i % accounts), 'BTC');
        const debit = await openAccount(tx, balance, at);
        const credit = await openAccount(tx, inFlight, at);
        await placeHold(
          tx,
          {
            id: inFlightId(prefix, i),
            debitAccountId: debit.id,
            creditAccountId: credit.id,
            asset: 'BTC',
            amount: AMOUNT + FEE,
            code: 'withdrawal',
            reference: `inflight-digest-${prefix}-${i}`,
          },
          at,
        );
      }
    });
  }
}
