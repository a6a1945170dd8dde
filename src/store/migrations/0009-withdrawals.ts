import { sql } from 'kysely';
import { ATTESTED, PAST_CONFIRMATION, WITHDRAWAL_STATES } from '../../core/withdrawals/states.ts';
import { type AnyDb, amountType, type MigrationEngine } from './column-types.ts';

/** A SQL list of state names; the names are the core's constants, never input. */
const stateList = (states: readonly string[]) => sql.raw(`(${states.map((s) => `'${s}'`).join(', ')})`);

/**
 * Withdrawals and the proof that approved each. The database itself refuses a withdrawal past
 * awaiting_confirmation without a proof, and the composite foreign key makes that proof one that names this very
 * withdrawal and its digest (DESIGN invariant 1: "the database enforces what it can").
 */
export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const amount = amountType(engine);

  await db.schema
    .createTable('withdrawal_proofs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // UNIQUE: one proof per withdrawal, and a proof is for one withdrawal only (single use).
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().unique())
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) =>
      c.notNull().check(sql`method in ('totp', 'passkey', 'recovery_code')`),
    )
    .addColumn('factor_id', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text', (c) => c.notNull())
    .addColumn('proof_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('withdrawal_proofs_binding', ['id', 'withdrawal_id', 'digest'])
    .execute();

  await db.schema
    .createTable('withdrawals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('amount', amount, (c) => c.notNull())
    .addColumn('fee', amount, (c) => c.notNull())
    .addColumn('destination_id', 'text', (c) => c.notNull().references('address_book_entries.id'))
    .addColumn('destination_address', 'text', (c) => c.notNull())
    .addColumn('destination_label', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ${stateList(WITHDRAWAL_STATES)}`))
    .addColumn('proof_id', 'text')
    .addColumn('confirm_failures', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('release_after', 'text')
    .addColumn('time_locked_until', 'text')
    .addColumn('first_use', 'integer', (c) => c.notNull())
    .addColumn('screening', 'text')
    .addColumn('attestation', 'text')
    .addColumn('txid', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addForeignKeyConstraint('withdrawals_bound_proof', ['proof_id', 'id', 'digest'], 'withdrawal_proofs', [
      'id',
      'withdrawal_id',
      'digest',
    ])
    .addCheckConstraint(
      'withdrawals_proof_required',
      sql`state not in ${stateList(PAST_CONFIRMATION)} or proof_id is not null`,
    )
    .addCheckConstraint(
      'withdrawals_released_attested',
      sql`state not in ${stateList(ATTESTED)} or attestation is not null`,
    )
    .execute();
  await db.schema
    .createIndex('withdrawals_account')
    .on('withdrawals')
    .columns(['account_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('withdrawals_due')
    .on('withdrawals')
    .columns(['state', 'release_after'])
    .execute();

  await db.schema
    .createTable('withdrawal_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().references('withdrawals.id'))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema
    .createIndex('withdrawal_events_by_withdrawal')
    .on('withdrawal_events')
    .columns(['withdrawal_id', 'at'])
    .execute();

  // Halts; `halt_control` is one row every release reads FOR SHARE and every halt updates, so a halt call cannot
  // return while a release that did not see it is still uncommitted (DESIGN invariant 4).
  await db.schema
    .createTable('halt_control')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.insertInto('halt_control').values({ id: 1, version: 0 }).execute();
  await db.schema
    .createTable('halts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('global', 'asset', 'account')`))
    .addColumn('asset', 'text')
    .addColumn('network', 'text')
    .addColumn('account_id', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('lifted_at', 'text')
    .addColumn('lifted_by', 'text')
    .execute();

  await db.schema
    .createTable('deposits')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('txid', 'text', (c) => c.notNull())
    .addColumn('output_index', 'integer', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount', amount, (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('deposits_chain_output', ['network', 'txid', 'output_index'])
    .execute();

  // The embedded custody signer's simulated chain.
  await db.schema
    .createTable('simulated_chain_txs')
    .addColumn('txid', 'text', (c) => c.primaryKey())
    .addColumn('withdrawal_id', 'text', (c) => c.notNull().unique())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('amount', amount, (c) => c.notNull())
    .addColumn('broadcast_at', 'text', (c) => c.notNull())
    .addColumn('confirms_at', 'text', (c) => c.notNull())
    .execute();
}
