import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * When the integrator's signer accepted an instruction without a txid (HTTP 202). The releaser no longer waits for
 * the `broadcast` callback: the withdrawal stays `released`, later passes read what callbacks stored, and past the
 * accepted wait the outcome is unknown (errored, for an operator). Set once; a retried hand-over of an accepted
 * instruction is not sent again.
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema.alterTable('custody_handoffs').addColumn('accepted_at', 'text').execute();
}
