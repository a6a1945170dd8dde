import { type ColumnDefinitionBuilder, sql } from 'kysely';
import { type AnyDb, amountType, type MigrationEngine } from './column-types.ts';

export async function up(db: AnyDb, engine: MigrationEngine): Promise<void> {
  const amount = amountType(engine);
  // SQLite keeps amounts as TEXT: refuse anything but a canonical decimal of at most 40 digits, so a
  // bug in the store cannot slip '-5', '1e3' or '007' into the books. PostgreSQL's NUMERIC(40,0)
  // and the checks at the end do the same there.
  const canonical = (column: string, zero: 'zero allowed' | 'positive') => (c: ColumnDefinitionBuilder) => {
    if (engine === 'postgres') return c.notNull();
    const value = sql.ref(column);
    const leading =
      zero === 'zero allowed' ? sql`(${value} = '0' or ${value} glob '[1-9]*')` : sql`${value} glob '[1-9]*'`;
    return c.notNull().check(sql`${leading} and ${value} not glob '*[^0-9]*' and length(${value}) <= 40`);
  };

  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('debits_must_not_exceed_credits', 'integer', (c) =>
      c.notNull().check(sql`debits_must_not_exceed_credits in (0, 1)`),
    )
    .addColumn('posted_debits', amount, canonical('posted_debits', 'zero allowed'))
    .addColumn('posted_credits', amount, canonical('posted_credits', 'zero allowed'))
    .addColumn('pending_debits', amount, canonical('pending_debits', 'zero allowed'))
    .addColumn('pending_credits', amount, canonical('pending_credits', 'zero allowed'))
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
    .addColumn('amount', amount, canonical('amount', 'positive'))
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

  // Sums per asset page through accounts in id order.
  await db.schema
    .createIndex('ledger_accounts_asset')
    .on('ledger_accounts')
    .columns(['asset', 'id'])
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
