import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * A rule set decides only once a second operator activated it (maker-checker): the operator who wrote a set cannot
 * be the one who switches it on, so one analyst (or one stolen analyst session) cannot loosen the rules that stand
 * between an account takeover and the chain. The service refuses it (SAME_OPERATOR); the database refuses it too,
 * whatever writes:
 * - a set is written as a draft (the only way in, so nothing starts out active with no activation at all);
 * - a move into `active` names who activated it, someone other than its author;
 * - what was checked stays what decides: a set's id, version, configuration, description, author and creation time
 *   never change, and once a set names who activated it, that name stays (a set is retired, never deleted). Without
 *   this, a writer could change the configuration of the set in force, which no second operator ever saw.
 * Sets activated before this migration keep their state.
 */
const SECOND = 'a rule set is activated by an operator other than its author';
const DRAFT = 'a rule set is written as a draft';
export const RULE_SET_TERMS_KEPT = "a rule set's terms, author and activation are kept: write a new version";
const TERMS = ['id', 'version', 'config', 'description', 'created_by', 'created_at'] as const;

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
  } else {
    await sql`create trigger rule_sets_written_as_draft before insert on rule_sets
      when new.state is not 'draft'
      begin select raise(abort, ${sql.raw(`'${DRAFT}'`)}); end`.execute(db);
    await sql`create trigger rule_sets_second_operator before update on rule_sets
      when new.state = 'active' and old.state is not 'active'
        and (new.activated_by is null or new.activated_by = new.created_by)
      begin select raise(abort, ${sql.raw(`'${SECOND}'`)}); end`.execute(db);
  }
  await keepRuleSetTerms(db, engine);
}

/**
 * The guard on a set's terms, author and activation (and against deleting a set), on its own: a test that must stand
 * in for a set stored by an older catalogue lifts it for one write and puts it back with this.
 */
export async function keepRuleSetTerms(db: AnyDb, engine: MigrationEngine): Promise<void> {
  if (engine === 'postgres') {
    const changed = TERMS.map((c) => `new.${c} is distinct from old.${c}`).join(' or ');
    await sql`create or replace function rule_sets_terms_kept() returns trigger language plpgsql as $$${sql.raw(`
      begin
        if tg_op = 'UPDATE' and not (${changed})
          and (old.activated_by is null or new.activated_by is not distinct from old.activated_by) then
          return new;
        end if;
        raise exception '${RULE_SET_TERMS_KEPT.replaceAll("'", "''")}' using errcode = 'check_violation';
      end`)}$$`.execute(db);
    await sql`create trigger rule_sets_terms_kept before update or delete on rule_sets
      for each row execute function rule_sets_terms_kept()`.execute(db);
    await sql`create trigger rule_sets_no_truncate before truncate on rule_sets
      for each statement execute function rule_sets_terms_kept()`.execute(db);
    return;
  }
  const changed = TERMS.map((c) => `new.${c} is not old.${c}`).join(' or ');
  const refuse = sql.raw(`begin select raise(abort, '${RULE_SET_TERMS_KEPT.replaceAll("'", "''")}'); end`);
  await sql`create trigger rule_sets_terms_kept before update on rule_sets
    when ${sql.raw(changed)} or (old.activated_by is not null and new.activated_by is not old.activated_by)
    ${refuse}`.execute(db);
  await sql`create trigger rule_sets_no_delete before delete on rule_sets ${refuse}`.execute(db);
  // INSERT OR REPLACE deletes without firing DELETE triggers: refused for a set that exists.
  await sql`create trigger rule_sets_no_replace before insert on rule_sets
    when exists (select 1 from rule_sets where id = new.id or version = new.version) ${refuse}`.execute(db);
}

/** The triggers keepRuleSetTerms makes, by engine (a test lifts them for one write). */
export const RULE_SET_TERMS_TRIGGERS = {
  sqlite: ['rule_sets_terms_kept', 'rule_sets_no_delete', 'rule_sets_no_replace'],
  postgres: ['rule_sets_terms_kept', 'rule_sets_no_truncate'],
} as const;
