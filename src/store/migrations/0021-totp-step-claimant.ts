import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Who claimed the last TOTP step: the session (and its IP) that used it. The same code entered again in the same
 * step by that same session is the customer typing it twice (signed in, then confirmed a withdrawal), told as
 * such; from anywhere else it is a replay, refused with an alarm as before.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('principals').addColumn('totp_last_step_session', 'text').execute();
  await db.schema.alterTable('principals').addColumn('totp_last_step_ip', 'text').execute();
}
