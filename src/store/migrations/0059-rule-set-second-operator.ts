import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * A rule set decides only once a second operator activated it (maker-checker): the operator who wrote a set cannot
 * be the one who switches it on, so one analyst (or one stolen analyst session) cannot loosen the rules that stand
 * between an account takeover and the chain. The service refuses it (SAME_OPERATOR); the database refuses it too,
 * whatever writes: a move into `active` must name who activated it, someone other than its author. A set is written
 * as a draft (the only way in, so nothing starts out active with no activation at all). Sets activated before this
 * migration keep their state.
 */
const SECOND = 'a rule set is activated by an operator other than its author';
const DRAFT = 'a rule set is written as a draft';

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  if (engine === 'postgres') {
    await sql`create function rule_sets_second_operator() returns trigger language plpgsql as $$${sql.raw(`
      begin
        if tg_op = 'INSERT' and new.state <> 'draft' then
          raise exception '${DRAFT}' using errcode = 'check_violation';
        end if;
        if tg_op = 'UPDATE' and new.state = 'active' and old.state <> 'active'
          and (new.activated_by is null or new.activated_by = new.created_by) then
          raise exception '${SECOND}' using errcode = 'check_violation';
        end if;
        return new;
      end`)}$$`.execute(db);
    await sql`create trigger rule_sets_second_operator before insert or update on rule_sets
      for each row execute function rule_sets_second_operator()`.execute(db);
    return;
  }
  await sql`create trigger rule_sets_written_as_draft before insert on rule_sets
    when new.state is not 'draft'
    begin select raise(abort, ${sql.raw(`'${DRAFT}'`)}); end`.execute(db);
  await sql`create trigger rule_sets_second_operator before update on rule_sets
    when new.state = 'active' and old.state is not 'active'
      and (new.activated_by is null or new.activated_by = new.created_by)
    begin select raise(abort, ${sql.raw(`'${SECOND}'`)}); end`.execute(db);
}
