import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The rule sets' revision: one row whose `revision` goes up with every change to `rule_sets` (by trigger, whoever
 * writes: a service, the CLI, a raw UPDATE), so a process may keep the sets in force in memory and check, inside
 * the confirmation's one read, that nothing changed since (src/store/rule-sets.ts). The revision only goes up (a
 * trigger refuses anything else and the row cannot be deleted): a writer cannot put it back to a value a process
 * cached an older, laxer set under. Every change is exactly the old revision + 1, an integer (on SQLite `typeof` is
 * checked too: a BLOB or TEXT revision compares above any integer and would pass a plain `>`), so nobody can jump it
 * to the top of its range either; `bigint` leaves room for 9.2e18 changes. `nonce` is new and random with every change (and for every database), so a
 * revision a rolled-back transaction saw (SQLite reads inside its commit group) never matches a later change that
 * reaches the same number.
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('rule_set_revision')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .execute();
  if (engine === 'postgres') {
    await sql`insert into rule_set_revision (id, revision, nonce) values (1, 0, md5(random()::text || clock_timestamp()::text))`.execute(
      db,
    );
    await sql`create function rule_set_revision_bump() returns trigger language plpgsql as $$
      begin
        update rule_set_revision
          set revision = revision + 1, nonce = md5(random()::text || clock_timestamp()::text) where id = 1;
        return null;
      end
    $$`.execute(db);
    await sql`create trigger rule_sets_revision after insert or update or delete or truncate on rule_sets
      for each statement execute function rule_set_revision_bump()`.execute(db);
    await sql`create function rule_set_revision_forward() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and new.id = old.id and new.revision = old.revision + 1 then
          return new;
        end if;
        raise exception 'the rule set revision only goes up, by one' using errcode = 'check_violation';
      end
    $$`.execute(db);
    await sql`create trigger rule_set_revision_forward before update or delete on rule_set_revision
      for each row execute function rule_set_revision_forward()`.execute(db);
    await sql`create trigger rule_set_revision_no_truncate before truncate on rule_set_revision
      for each statement execute function rule_set_revision_forward()`.execute(db);
  } else {
    await sql`insert into rule_set_revision (id, revision, nonce) values (1, 0, lower(hex(randomblob(16))))`.execute(
      db,
    );
    for (const event of ['insert', 'update', 'delete'])
      await sql`create trigger ${sql.raw(`rule_sets_revision_${event}`)} after ${sql.raw(event)} on rule_sets
        begin
          update rule_set_revision set revision = revision + 1, nonce = lower(hex(randomblob(16))) where id = 1;
        end`.execute(db);
    await sql`create trigger rule_set_revision_forward before update on rule_set_revision
      when new.id is not old.id or typeof(new.revision) <> 'integer' or new.revision <> old.revision + 1
      begin select raise(abort, 'the rule set revision only goes up'); end`.execute(db);
    await sql`create trigger rule_set_revision_no_delete before delete on rule_set_revision
      begin select raise(abort, 'the rule set revision only goes up'); end`.execute(db);
    // INSERT OR REPLACE deletes without firing DELETE triggers: refused for the row that exists.
    await sql`create trigger rule_set_revision_no_replace before insert on rule_set_revision
      when (select count(*) from rule_set_revision) > 0
      begin select raise(abort, 'the rule set revision only goes up'); end`.execute(db);
  }
}
