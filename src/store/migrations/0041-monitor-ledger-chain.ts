import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Feeds for the monitor's system checks, filled by trigger whoever writes (the services, or someone writing rows
 * around them), taken and deleted by the monitor once accounted for (no cursor to skip a row committed out of
 * order), as `monitor_feed` is for withdrawals (migration 0024):
 *
 * - `monitor_ledger_feed`: every ledger transfer inserted (its kind, accounts, asset, amount) and every change of
 *   an account's four totals (old and new, as decimal text). A transfer and the account updates it causes commit
 *   together, so in any snapshot the totals' changes are exactly the transfers' effects; a balance changed without
 *   a transfer, or a transfer inserted without its balances, is not (src/core/monitor/ledger-feed.ts).
 * - `monitor_chain_feed`: every payment the simulated chain carried (`simulated_chain_txs`): the monitor matches
 *   each to a withdrawal it approved and that was released with the same amount and destination.
 *
 * Also an index on withdrawals' release time, for the per-asset withdrawn volume (the circuit breaker). It is
 * partial, so a withdrawal not yet released costs the index nothing.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const serial = engine === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
  await sql`create table monitor_ledger_feed (
    seq ${serial},
    entry text not null check (entry in ('transfer', 'account')),
    ref text not null,
    asset text not null,
    transfer_kind text,
    debit_account_id text,
    credit_account_id text,
    amount text,
    old_totals text,
    new_totals text,
    at text not null
  )`.execute(db);
  await sql`create table monitor_chain_feed (
    seq ${serial},
    txid text not null,
    withdrawal_id text not null,
    network text not null,
    destination text not null,
    amount text not null,
    at text not null
  )`.execute(db);
  await sql`create index withdrawals_released_at on withdrawals (released_at) where released_at is not null`.execute(
    db,
  );

  if (engine === 'postgres') {
    const now = sql.raw(`to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
    await sql`create function monitor_ledger_transfer() returns trigger language plpgsql as $$
      begin
        insert into monitor_ledger_feed (entry, ref, asset, transfer_kind, debit_account_id, credit_account_id, amount, at)
          values ('transfer', new.id, new.asset, new.kind, new.debit_account_id, new.credit_account_id,
            new.amount::text, ${now});
        perform pg_notify('drawbridge_monitor', '');
        return null;
      end
    $$`.execute(db);
    await sql`create trigger ledger_transfers_monitor_feed after insert on ledger_transfers
      for each row execute function monitor_ledger_transfer()`.execute(db);
    // An account whose id or asset is rewritten counts as one account emptied and another filled, so its totals
    // are accounted to the asset they are now in.
    await sql`create function monitor_ledger_account() returns trigger language plpgsql as $$
      declare
        zero constant text := '0,0,0,0';
        before_totals text := zero;
        after_totals text := zero;
      begin
        if tg_op <> 'INSERT' then
          before_totals := concat_ws(',', old.posted_debits, old.posted_credits, old.pending_debits, old.pending_credits);
        end if;
        if tg_op <> 'DELETE' then
          after_totals := concat_ws(',', new.posted_debits, new.posted_credits, new.pending_debits, new.pending_credits);
        end if;
        if tg_op = 'UPDATE' and old.id = new.id and old.asset = new.asset then
          if before_totals <> after_totals then
            insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
              values ('account', new.id, new.asset, before_totals, after_totals, ${now});
          end if;
          return null;
        end if;
        if tg_op <> 'INSERT' and before_totals <> zero then
          insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
            values ('account', old.id, old.asset, before_totals, zero, ${now});
        end if;
        if tg_op <> 'DELETE' and after_totals <> zero then
          insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
            values ('account', new.id, new.asset, zero, after_totals, ${now});
        end if;
        return null;
      end
    $$`.execute(db);
    await sql`create trigger ledger_accounts_monitor_feed after insert or update or delete on ledger_accounts
      for each row execute function monitor_ledger_account()`.execute(db);
    await sql`create function monitor_chain_payment() returns trigger language plpgsql as $$
      begin
        insert into monitor_chain_feed (txid, withdrawal_id, network, destination, amount, at)
          values (new.txid, new.withdrawal_id, new.network, new.destination, new.amount, ${now});
        perform pg_notify('drawbridge_monitor', '');
        return null;
      end
    $$`.execute(db);
    await sql`create trigger simulated_chain_monitor_feed after insert on simulated_chain_txs
      for each row execute function monitor_chain_payment()`.execute(db);
    return;
  }
  const now = sql.raw(`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`);
  const totals = (row: 'old' | 'new') =>
    sql.raw(
      `${row}.posted_debits || ',' || ${row}.posted_credits || ',' || ${row}.pending_debits || ',' || ${row}.pending_credits`,
    );
  await sql`create trigger ledger_transfers_monitor_feed after insert on ledger_transfers
    begin
      insert into monitor_ledger_feed (entry, ref, asset, transfer_kind, debit_account_id, credit_account_id, amount, at)
        values ('transfer', new.id, new.asset, new.kind, new.debit_account_id, new.credit_account_id, new.amount, ${now});
    end`.execute(db);
  await sql`create trigger ledger_accounts_monitor_feed_insert after insert on ledger_accounts
    when ${totals('new')} <> '0,0,0,0'
    begin
      insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
        values ('account', new.id, new.asset, '0,0,0,0', ${totals('new')}, ${now});
    end`.execute(db);
  await sql`create trigger ledger_accounts_monitor_feed_update after update on ledger_accounts
    when old.id is new.id and old.asset is new.asset and ${totals('old')} is not ${totals('new')}
    begin
      insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
        values ('account', new.id, new.asset, ${totals('old')}, ${totals('new')}, ${now});
    end`.execute(db);
  // An account whose id or asset is rewritten counts as one account emptied and another filled.
  await sql`create trigger ledger_accounts_monitor_feed_move after update on ledger_accounts
    when old.id is not new.id or old.asset is not new.asset
    begin
      insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
        values ('account', old.id, old.asset, ${totals('old')}, '0,0,0,0', ${now});
      insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
        values ('account', new.id, new.asset, '0,0,0,0', ${totals('new')}, ${now});
    end`.execute(db);
  await sql`create trigger ledger_accounts_monitor_feed_delete after delete on ledger_accounts
    when ${totals('old')} <> '0,0,0,0'
    begin
      insert into monitor_ledger_feed (entry, ref, asset, old_totals, new_totals, at)
        values ('account', old.id, old.asset, ${totals('old')}, '0,0,0,0', ${now});
    end`.execute(db);
  await sql`create trigger simulated_chain_monitor_feed after insert on simulated_chain_txs
    begin
      insert into monitor_chain_feed (txid, withdrawal_id, network, destination, amount, at)
        values (new.txid, new.withdrawal_id, new.network, new.destination, new.amount, ${now});
    end`.execute(db);
}
