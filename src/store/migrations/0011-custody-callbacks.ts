import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * The webhook custody signer's memory. `custody_handoffs`: one row per withdrawal handed to the integrator's
 * signer (written before the instruction is sent, so a callback racing the answer finds it), holding what the
 * integrator has told us so far. `custody_callbacks`: every signed status callback received, keyed by its
 * `webhook-id`, with a hash of its body, so a replay gets the first answer and never a second effect.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('custody_handoffs')
    .addColumn('withdrawal_id', 'text', (c) => c.primaryKey().references('withdrawals.id'))
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('submitted', 'broadcast', 'confirmed', 'failed')`),
    )
    .addColumn('txid', 'text', (c) => c.check(sql`length(txid) between 1 and 128`))
    .addColumn('submitted_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    // A transaction that was broadcast or confirmed has a txid.
    .addCheckConstraint(
      'custody_handoffs_txid_known',
      sql`status not in ('broadcast', 'confirmed') or txid is not null`,
    )
    .execute();

  await db.schema
    .createTable('custody_callbacks')
    .addColumn('webhook_id', 'text', (c) => c.primaryKey().check(sql`length(webhook_id) <= 128`))
    .addColumn('body_hash', 'text', (c) => c.notNull())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('broadcast', 'confirmed', 'failed')`),
    )
    .addColumn('txid', 'text')
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('pending', 'applied', 'unchanged', 'refused')`),
    )
    .addColumn('answer_code', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('custody_callbacks_by_withdrawal')
    .on('custody_callbacks')
    .columns(['withdrawal_id', 'received_at'])
    .execute();
}
