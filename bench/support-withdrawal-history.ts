import { sql } from 'kysely';
import type { Database } from '../src/store/database.ts';
import { inTransaction } from '../src/store/transaction.ts';
import { sqliteCacheSize } from './support-bulk-accounts.ts';

/*
 * Past withdrawals in bulk, written by the database itself in one statement (a recursive CTE on SQLite,
 * generate_series on PostgreSQL), as support-bulk-accounts.ts writes accounts: a million rows in seconds. They are
 * spread evenly over the `spanMs` before `now`, over `accounts` synthetic accounts and `destinations` synthetic
 * addresses; every `accountEvery`-th row is the benchmarked account's (to its own address-book entry), and every
 * `destinationEvery`-th another account's payment to the benchmarked address. 90% completed, 5% cancelled, 3%
 * expired, 2% rejected. Only rows: no proofs, events, ledger entries or principals behind them, so while they are
 * written foreign keys are not enforced (SQLite: foreign_keys off; PostgreSQL: session_replication_role replica,
 * which also mutes the triggers) and SQLite's triggers on withdrawals are set aside and recreated unchanged: the
 * monitor's feed is not filled with a million historical rows. CHECK constraints still hold: completed and
 * rejected rows name a (synthetic) proof, completed ones carry an attestation placeholder.
 */

export interface HistoryPlan {
  readonly count: number;
  readonly now: Date;
  readonly spanMs: number;
  readonly accounts: number;
  readonly destinations: number;
  readonly bench: {
    readonly accountId: string;
    readonly destinationId: string;
    readonly address: string;
    readonly accountEvery: number;
    readonly destinationEvery: number;
  };
}

const COLUMNS = sql.raw(
  'id, account_id, asset, network, amount, fee, destination_id, destination_address, destination_label, nonce, digest, summary, state, proof_id, confirm_failures, expires_at, first_use, attestation, reason, created_at, updated_at',
);

export async function seedWithdrawalHistory(database: Database, plan: HistoryPlan): Promise<void> {
  const nowSeconds = plan.now.getTime() / 1000;
  const spanSeconds = plan.spanMs / 1000;
  const last = plan.count - 1;
  const { accountId, destinationId, address, accountEvery, destinationEvery } = plan.bench;
  if (database.engine === 'sqlite') {
    const configuredCache = await sqliteCacheSize(database);
    await sql`pragma cache_size = -262144`.execute(database.db);
    await sql`pragma foreign_keys = off`.execute(database.db);
    try {
      await inTransaction(database, async (tx) => {
        const triggers = await sql<{ name: string; sql: string }>`
          select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'withdrawals'`.execute(
          tx,
        );
        for (const trigger of triggers.rows) await sql`drop trigger ${sql.id(trigger.name)}`.execute(tx);
        await sql`insert into withdrawals (${COLUMNS})
          with recursive n(i) as (select 0 union all select i + 1 from n where i < ${last}),
          r as (
            select i, i % 100 as bucket,
              strftime('%Y-%m-%dT%H:%M:%fZ', ${nowSeconds} - (i * ${spanSeconds} / ${plan.count}), 'unixepoch') as at
            from n
          )
          select printf('00000000-0000-7000-a000-%012d', i),
            case when i % ${accountEvery} = 0 then ${accountId} else printf('00000000-0000-7000-8000-%012d', i % ${plan.accounts}) end,
            'BTC', 'bitcoin', '10000', '1000',
            case when i % ${accountEvery} = 0 then ${destinationId} else printf('hist-dest-%d', i % ${plan.destinations}) end,
            case when i % ${accountEvery} = 0 or i % ${destinationEvery} = 7 then ${address} else printf('bc1qhistory%010d', i % ${plan.destinations}) end,
            'history', printf('hist-nonce-%d', i), printf('hist-digest-%d', i), 'history',
            case when bucket < 90 then 'completed' when bucket < 95 then 'cancelled' when bucket < 98 then 'expired' else 'rejected' end,
            case when bucket < 90 or bucket >= 98 then printf('hist-proof-%d', i) else null end,
            0, at, 0,
            case when bucket < 90 then '{}' else null end,
            null, at, at
          from r`.execute(tx);
        for (const trigger of triggers.rows) await sql.raw(trigger.sql).execute(tx);
      });
    } finally {
      await sql`pragma foreign_keys = on`.execute(database.db);
    }
    await sql`analyze`.execute(database.db);
    await sql.raw(`pragma cache_size = ${configuredCache}`).execute(database.db);
    return;
  }
  await inTransaction(database, async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx);
    await sql`insert into withdrawals (${COLUMNS})
      select '00000000-0000-7000-a000-' || lpad(i::text, 12, '0'),
        case when i % ${accountEvery} = 0 then ${accountId} else '00000000-0000-7000-8000-' || lpad((i % ${plan.accounts})::text, 12, '0') end,
        'BTC', 'bitcoin', 10000, 1000,
        case when i % ${accountEvery} = 0 then ${destinationId} else 'hist-dest-' || (i % ${plan.destinations}) end,
        case when i % ${accountEvery} = 0 or i % ${destinationEvery} = 7 then ${address} else 'bc1qhistory' || lpad((i % ${plan.destinations})::text, 10, '0') end,
        'history', 'hist-nonce-' || i, 'hist-digest-' || i, 'history',
        case when i % 100 < 90 then 'completed' when i % 100 < 95 then 'cancelled' when i % 100 < 98 then 'expired' else 'rejected' end,
        case when i % 100 < 90 or i % 100 >= 98 then 'hist-proof-' || i else null end,
        0, r.at, 0,
        case when i % 100 < 90 then '{}' else null end,
        null, r.at, r.at
      from generate_series(0, ${last}::int) as i,
        lateral (select to_char(to_timestamp(${nowSeconds}::float8 - i * ${spanSeconds}::float8 / ${plan.count}::float8) at time zone 'utc',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at) as r`.execute(tx);
  });
  // At rest, as production is: not a table autovacuum is still digesting after a bulk load.
  await sql`vacuum analyze withdrawals`.execute(database.db);
  await sql`checkpoint`.execute(database.db);
}
