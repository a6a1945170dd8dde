import { sql } from 'kysely';
import type { Database } from '../src/store/database.ts';
import { inTransaction } from '../src/store/transaction.ts';

/*
 * Customers and one live session each, written in bulk by the database itself (a recursive CTE on SQLite,
 * generate_series on PostgreSQL), so a million of each takes seconds instead of a million round trips.
 * Ids are deterministic ("...-8000-<n>" for accounts, "...-9000-<n>" for sessions), so a benchmark can name
 * account n without reading it back. Token hashes are random 64-hex strings, the shape of real ones; no
 * one holds those tokens.
 */

export const MAX_BULK_ACCOUNTS = 2_000_000;
const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$placeholderplaceholderplaceholderpl';

export function bulkAccountId(n: number): string {
  return `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;
}

/** Accounts numbered [from, to), each with one AAL2 session created at `at`, in one transaction. */
export async function seedBulkAccounts(
  database: Database,
  from: number,
  to: number,
  at: Date,
): Promise<void> {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to <= from || to > MAX_BULK_ACCOUNTS)
    throw new RangeError(`seed accounts within 0..${MAX_BULK_ACCOUNTS}`);
  const now = at.toISOString();
  const last = to - 1;
  // A large page cache only while seeding: random token hashes land all over the unique index. The
  // connection's own setting (configureSqlite) comes back before anything is measured.
  const configuredCache = await sqliteCacheSize(database);
  if (database.engine === 'sqlite') await sql`pragma cache_size = -262144`.execute(database.db);
  await inTransaction(database, async (tx) => {
    const { session_epoch } = await tx
      .selectFrom('security_epochs')
      .select('session_epoch')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    if (database.engine === 'sqlite') {
      await sql`insert into principals (id, kind, email, email_verified_at, password_hash, role, locked_at, locked_reason, session_epoch, mfa_epoch, withdrawals_locked_until, mfa_failures, mfa_lock_count, mfa_locked_until, last_totp_step, created_at)
        with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${last})
        select printf('00000000-0000-7000-8000-%012d', i), 'customer', 'bulk-' || i || '@bench.example', ${now}, ${PASSWORD_HASH}, null, null, null, 1, 1, null, 0, 0, null, 0, ${now} from n`.execute(
        tx,
      );
      await sql`insert into sessions (id, token_hash, csrf_hash, principal_id, aal, global_epoch, principal_epoch, device_id, ip, user_agent, created_at, last_seen_at, ended_at, ended_reason)
        with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${last})
        select printf('00000000-0000-7000-9000-%012d', i), lower(hex(randomblob(32))), lower(hex(randomblob(32))), printf('00000000-0000-7000-8000-%012d', i), 2, ${session_epoch}, 1, null, '127.0.0.1', 'drawbridge-bench', ${now}, ${now}, null, null from n`.execute(
        tx,
      );
      return;
    }
    await sql`insert into principals (id, kind, email, email_verified_at, password_hash, role, locked_at, locked_reason, session_epoch, mfa_epoch, withdrawals_locked_until, mfa_failures, mfa_lock_count, mfa_locked_until, last_totp_step, created_at)
      select '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), 'customer', 'bulk-' || i || '@bench.example', ${now}, ${PASSWORD_HASH}, null, null, null, 1, 1, null, 0, 0, null, 0, ${now}
      from generate_series(${from}::int, ${last}::int) as i`.execute(tx);
    await sql`insert into sessions (id, token_hash, csrf_hash, principal_id, aal, global_epoch, principal_epoch, device_id, ip, user_agent, created_at, last_seen_at, ended_at, ended_reason)
      select '00000000-0000-7000-9000-' || lpad(i::text, 12, '0'), md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text), '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), 2, ${session_epoch}, 1, null, '127.0.0.1', 'drawbridge-bench', ${now}, ${now}, null, null
      from generate_series(${from}::int, ${last}::int) as i`.execute(tx);
  });
  // Fresh statistics, as autovacuum would give a table that grew this much, so plans match production's.
  if (database.engine === 'postgres') await sql`analyze principals, sessions`.execute(database.db);
  else {
    await sql`analyze`.execute(database.db);
    await sql.raw(`pragma cache_size = ${configuredCache}`).execute(database.db);
  }
}

/** SQLite: the connection's cache_size as configured (restored after a seed); PostgreSQL: unused. */
export async function sqliteCacheSize(database: Database): Promise<number> {
  if (database.engine !== 'sqlite') return 0;
  const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(database.db);
  const size = Number(rows[0]?.cache_size);
  if (!Number.isInteger(size)) throw new Error('assertion failed: pragma cache_size answered no number');
  return size;
}
