import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Rule sets (versioned configuration over the fixed catalogue of predicates in src/core/risk/rule-sets.ts) and the
 * record of every evaluation. At most one set is active and at most one is in shadow: the database refuses a
 * second (partial unique indexes), whatever the service does.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('rule_sets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('draft', 'shadow', 'active', 'retired')`),
    )
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('shadowed_at', 'text')
    .addColumn('activated_at', 'text')
    .addColumn('activated_by', 'text')
    .addColumn('retired_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rule_sets_one_active')
    .on('rule_sets')
    .column('state')
    .unique()
    .where(sql.ref('state'), '=', 'active')
    .execute();
  await db.schema
    .createIndex('rule_sets_one_shadow')
    .on('rule_sets')
    .column('state')
    .unique()
    .where(sql.ref('state'), '=', 'shadow')
    .execute();

  await db.schema
    .createTable('rule_evaluations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull())
    /** 'builtin' (version 0) while no set was ever activated. */
    .addColumn('rule_set_id', 'text', (c) => c.notNull())
    .addColumn('rule_set_version', 'integer', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('active', 'shadow')`))
    .addColumn('outcome', 'text', (c) => c.notNull())
    /** What was enforced (the active set's outcome), beside a shadow's own. */
    .addColumn('enforced_outcome', 'text', (c) => c.notNull())
    .addColumn('disagrees', 'integer', (c) => c.notNull().check(sql`disagrees in (0, 1)`))
    .addColumn('results', 'text', (c) => c.notNull())
    .addColumn('facts', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rule_evaluations_disagreements')
    .on('rule_evaluations')
    .columns(['rule_set_id', 'disagrees', 'at', 'id'])
    .execute();
  await db.schema
    .createIndex('rule_evaluations_withdrawal')
    .on('rule_evaluations')
    .column('withdrawal_id')
    .execute();
}
