import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { WITHDRAWAL_STATES } from '../../src/core/withdrawals/states.ts';
import { insertEntry } from '../../src/store/address-book.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { setWithdrawalStates } from '../../src/store/migrations/0019-withdrawal-expired.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`migrations on ${engine}`, () => {
    test('a second run applies nothing and the schema is there', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const again = await migrateToLatest(fresh.database);
        assert.deepEqual(again.applied, []);
        const rows = await fresh.database.db.selectFrom('ledger_accounts').selectAll().execute();
        assert.deepEqual(rows, []);
      } finally {
        await fresh.drop();
      }
    });
  });
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`0019 on a database made before it, on ${engine}`, () => {
    test('widens the state CHECK to expired, keeps every row, index and foreign key', async () => {
      const fresh = await freshDatabase(engine, { upTo: '0018-withdrawal-event-relay' });
      try {
        const db = fresh.database.db;
        const now = new Date().toISOString();
        // The principal as 0018's schema has it (later migrations add columns the store's insert now writes).
        const principal = { id: '01a21e3d-0000-7000-8000-0000000000aa' };
        await db
          .insertInto('principals')
          .values({
            id: principal.id,
            kind: 'customer',
            email: 'old@example.com',
            email_verified_at: now,
            password_hash: 'x',
            role: null,
            locked_at: null,
            locked_reason: null,
            session_epoch: 1,
            mfa_epoch: 1,
            withdrawals_locked_until: null,
            mfa_failures: 0,
            mfa_lock_count: 0,
            mfa_locked_until: null,
            last_totp_step: 0,
            created_at: now,
          } as never)
          .execute();
        const entry = await insertEntry(db, {
          accountId: principal.id,
          network: 'bitcoin',
          address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
          addressType: 'p2wpkh',
          label: 'x',
          coolingMs: 0,
          createdAt: new Date(now),
        });
        const row = (id: string) => ({
          id,
          account_id: principal.id,
          asset: 'BTC',
          network: 'bitcoin',
          amount: '1',
          fee: '1',
          destination_id: entry.id,
          destination_address: 'bc1q',
          destination_label: 'x',
          nonce: 'n',
          digest: 'd',
          summary: 's',
          state: 'awaiting_confirmation',
          confirm_failures: 0,
          expires_at: now,
          first_use: 0,
          created_at: now,
          updated_at: now,
        });
        await db
          .insertInto('withdrawals')
          .values(row('01a21e3d-0000-7000-8000-00000000000a') as never)
          .execute();
        // As a database made before `expired` existed has it (0009 writes the core's list of its day).
        await setWithdrawalStates(
          db,
          engine,
          WITHDRAWAL_STATES.filter((state) => state !== 'expired'),
        );
        await assert.rejects(
          db
            .updateTable('withdrawals')
            .set({ state: 'expired' as never })
            .execute(),
          /check/i,
          'before 0019 the old CHECK refuses the new state',
        );
        const applied = await migrateToLatest(fresh.database);
        assert.ok(applied.applied.includes('0019-withdrawal-expired'));
        await assert.rejects(
          db
            .updateTable('withdrawals')
            .set({ state: 'vanished' as never })
            .execute(),
          /check/i,
          'the CHECK still refuses a state not in the core',
        );
        await db.updateTable('withdrawals').set({ state: 'expired' }).execute();
        const kept = await db.selectFrom('withdrawals').select(['id', 'state']).execute();
        assert.deepEqual(kept, [{ id: '01a21e3d-0000-7000-8000-00000000000a', state: 'expired' }]);
        if (engine === 'sqlite') {
          const indexes = await sql<{ name: string }>`
            select name from sqlite_master where type = 'index' and tbl_name = 'withdrawals' and sql is not null
            order by name`.execute(db);
          assert.deepEqual(
            indexes.rows.map((r) => r.name),
            [
              'withdrawals_account_day',
              'withdrawals_destination',
              'withdrawals_due',
              'withdrawals_expiring',
              'withdrawals_fan_in',
              'withdrawals_released_at',
              'withdrawals_released_by_account',
              'withdrawals_state_id',
            ],
          );
          const fks = await sql`pragma foreign_key_list(withdrawal_events)`.execute(db);
          assert.equal((fks.rows[0] as { table: string }).table, 'withdrawals');
        }
      } finally {
        await fresh.drop();
      }
    });
  });
}
