import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Every TOTP step ever claimed, whatever for (login, step-up, enrolment, a withdrawal): one row per account and
 * step, the primary key making "one step used once" a fact the database keeps and the monitor can check across
 * all uses. `principals.last_totp_step` stays the compare-and-set guard; this is its history.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('totp_claims')
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('step', 'bigint', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('factor_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('claimed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('totp_claims_pk', ['principal_id', 'step'])
    .addCheckConstraint('totp_claims_step', sql`step >= 0`)
    .execute();
}
