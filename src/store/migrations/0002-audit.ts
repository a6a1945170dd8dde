import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The hash-chained audit log (src/store/audit). `seq` as the primary key is also the backstop of the
 * chain's serialisation: two appends that read the same head both try the same seq, and one fails
 * instead of forking the chain.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey().check(sql`seq >= 1`))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull().check(sql`length(prev_hash) = 64`))
    .addColumn('hash', 'text', (c) => c.notNull().check(sql`length(hash) = 64`))
    .execute();

  // Append-only, enforced by the database for everyone who is not its owner. An owner can drop the
  // triggers; that is what the hash chain and `drawbridge audit verify` are for.
  if (engine === 'postgres') {
    await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
      end
    $$`.execute(db);
    await sql`create trigger audit_log_no_update before update on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
    await sql`create trigger audit_log_no_truncate before truncate on audit_log
      for each statement execute function audit_log_append_only()`.execute(db);
  } else {
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  }
}
