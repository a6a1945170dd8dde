import { sql } from 'kysely';
import { type AnyDb, amountType, type MigrationEngine } from './column-types.ts';

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const amount = amountType(engine);

  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('debits_must_not_exceed_credits', 'integer', (c) =>
      c.notNull().check(sql`debits_must_not_exceed_credits in (0, 1)`),
    )
    .addColumn('posted_debits', amount, (c) => c.notNull())
    .addColumn('posted_credits', amount, (c) => c.notNull())
    .addColumn('pending_debits', amount, (c) => c.notNull())
    .addColumn('pending_credits', amount, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('ledger_accounts_owner_asset_kind', ['owner_id', 'asset', 'kind'])
    .execute();

  await db.schema
    .createTable('ledger_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('posted', 'pending', 'post_pending', 'void_pending')`),
    )
    .addColumn('debit_account_id', 'text', (c) => c.notNull().references('ledger_accounts.id'))
    .addColumn('credit_account_id', 'text', (c) => c.notNull().references('ledger_accounts.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount', amount, (c) => c.notNull())
    // UNIQUE: a pending transfer is posted or voided at most once, enforced by the database itself.
    .addColumn('pending_id', 'text', (c) => c.unique().references('ledger_transfers.id'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint(
      'ledger_transfers_pending_link',
      sql`(kind in ('post_pending', 'void_pending')) = (pending_id is not null)`,
    )
    .addCheckConstraint('ledger_transfers_distinct_accounts', sql`debit_account_id <> credit_account_id`)
    .execute();
  await db.schema
    .createIndex('ledger_transfers_debit')
    .on('ledger_transfers')
    .columns(['debit_account_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('ledger_transfers_credit')
    .on('ledger_transfers')
    .columns(['credit_account_id', 'created_at'])
    .execute();

  if (engine === 'postgres') {
    // Defence in depth: PostgreSQL can check the balance rule itself on every row update.
    await sql`alter table ledger_accounts add constraint ledger_accounts_no_overdraft check (
      debits_must_not_exceed_credits = 0 or posted_debits + pending_debits <= posted_credits)`.execute(db);
    await sql`alter table ledger_accounts add constraint ledger_accounts_non_negative check (
      posted_debits >= 0 and posted_credits >= 0 and pending_debits >= 0 and pending_credits >= 0)`.execute(
      db,
    );
    await sql`alter table ledger_transfers add constraint ledger_transfers_positive check (amount > 0)`.execute(
      db,
    );
  }
}
