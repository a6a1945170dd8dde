import { type Compilable, type QueryResult, sql } from 'kysely';
import type {
  AccountJournal,
  JournalAccountRow,
  JournalTransferRow,
} from '../core/monitor/account-journal.ts';
import { type CompiledOnce, compiledOnce, opaqueParameter } from './compiled-query.ts';
import type { Engine } from './database.ts';
import type { Reads, Tx } from './transaction.ts';

/**
 * The monitor's read of one customer's journal in one asset, for its verdict on a withdrawal
 * (src/core/monitor/account-journal.ts decides): the account's stored totals, every transfer it is a side of, and
 * for each credit who it came from and its evidence (the deposit for that chain output; the reimbursement item it
 * paid, its request and the withdrawal it paid back).
 *
 * One statement, so one snapshot on both engines (PostgreSQL's READ COMMITTED gives each statement its own): the
 * stored totals and the transfers are never read at two moments that a concurrent deposit could tell apart. Every
 * part is an index lookup: the account by its unique (owner, asset, kind), its transfers by the ledger's debit and
 * credit indexes, the evidence by primary keys and the transfer-id indexes of migration 0051. Its cost grows with the
 * account's own transfers, never with the ledger. At `bound` transfers it stops and says the journal is incomplete
 * (the monitor then refuses: it never judges on part of a journal).
 */
export async function readAccountJournal(
  tx: Tx,
  accountId: string,
  asset: string,
  bound: number,
): Promise<AccountJournal> {
  const read = accountJournalReads(tx, accountId, asset, bound);
  return read.decode([await rowsResult(tx, read.statements[0]!)]);
}

async function rowsResult(tx: Tx, statement: Compilable<unknown>): Promise<QueryResult<unknown>> {
  return tx.executeQuery(statement.compile());
}

/** The same read handed out (transaction.ts `Reads`), for a caller that sends it with others in one round trip. */
export function accountJournalReads(
  tx: Tx,
  accountId: string,
  asset: string,
  bound: number,
): Reads<AccountJournal> {
  return {
    statements: [journalStatement(bound + 2).statement(tx, accountId, asset)],
    decode: ([result]) => decodeJournal(result as QueryResult<JournalRow>, bound),
  };
}

function decodeJournal(rows: QueryResult<JournalRow>, bound: number): AccountJournal {
  let account: JournalAccountRow | undefined;
  const transfers: JournalTransferRow[] = [];
  for (const row of rows.rows) {
    if (row.part === 'account') {
      account = {
        id: row.id,
        owner_id: row.owner_id ?? '',
        asset: row.asset,
        posted_debits: row.posted_debits ?? '',
        posted_credits: row.posted_credits ?? '',
        pending_debits: row.pending_debits ?? '',
        pending_credits: row.pending_credits ?? '',
      };
      continue;
    }
    transfers.push({
      id: row.id,
      kind: row.kind ?? '',
      debit_account_id: row.debit_account_id ?? '',
      credit_account_id: row.credit_account_id ?? '',
      asset: row.asset,
      amount: row.amount ?? '',
      pending_id: row.pending_id,
      code: row.code ?? '',
      source_owner_id: row.source_owner_id,
      source_kind: row.source_kind,
      source_asset: row.source_asset,
      deposit:
        row.deposit_account_id === null
          ? undefined
          : {
              account_id: row.deposit_account_id,
              asset: row.deposit_asset ?? '',
              amount: row.deposit_amount ?? '',
              network: row.deposit_network ?? '',
              txid: row.deposit_txid ?? '',
              output_index: row.deposit_output_index ?? '',
            },
      reimbursement:
        row.item_account_id === null
          ? undefined
          : {
              account_id: row.item_account_id,
              asset: row.item_asset ?? '',
              units: row.item_units ?? '',
              paid_at: row.item_paid_at,
              request_status: row.request_status,
              requested_by: row.requested_by,
              approved_by: row.approved_by,
              withdrawal_account_id: row.withdrawal_account_id,
              withdrawal_asset: row.withdrawal_asset,
            },
    });
  }
  const complete = transfers.length <= bound;
  return { account, transfers: complete ? transfers : transfers.slice(0, bound), complete, bound };
}

/**
 * Built and compiled once per engine and limit (the monitor uses one bound): Kysely would otherwise build and
 * compile this union of three selects on every verdict, which costs more than running it on a small account.
 */
const statements = new Map<number, CompiledOnce<[string, string], JournalRow>>();
function journalStatement(limit: number): CompiledOnce<[string, string], JournalRow> {
  let statement = statements.get(limit);
  if (statement === undefined) {
    statement = compiledOnce(2, (tx: Tx, engine, accountId: string, asset: string) => ({
      compile: () => accountJournalQuery(accountId, asset, limit, engine).compile(tx),
    }));
    statements.set(limit, statement);
  }
  return statement;
}

interface JournalRow {
  part: 'account' | 'debit' | 'credit';
  id: string;
  owner_id: string | null;
  asset: string;
  posted_debits: string | null;
  posted_credits: string | null;
  pending_debits: string | null;
  pending_credits: string | null;
  kind: string | null;
  debit_account_id: string | null;
  credit_account_id: string | null;
  amount: string | null;
  pending_id: string | null;
  code: string | null;
  source_owner_id: string | null;
  source_kind: string | null;
  source_asset: string | null;
  deposit_account_id: string | null;
  deposit_asset: string | null;
  deposit_amount: string | null;
  deposit_network: string | null;
  deposit_txid: string | null;
  deposit_output_index: string | null;
  item_account_id: string | null;
  item_asset: string | null;
  item_units: string | null;
  item_paid_at: string | null;
  request_status: string | null;
  requested_by: string | null;
  approved_by: string | null;
  withdrawal_account_id: string | null;
  withdrawal_asset: string | null;
}

/**
 * The statement (exported for its query plan, which a test and the report look at).
 *
 * The account and asset are opaque parameters on SQLite (compiled-query.ts `opaqueParameter`): otherwise, once
 * ANALYZE has run, SQLite re-prepared this union of six joins on every run, about 0.9 ms a verdict in bench/risk.ts
 * (several times the lookups themselves). The plan is the same index lookups (test/store/monitor-journal.test.ts).
 *
 * On SQLite the transfers are read INDEXED BY the ledger's debit and credit indexes: with the parameters opaque, the
 * planner weighs those indexes by ANALYZE's average rows per key alone, and where most transfers leave one account
 * (custody paying deposits) it chose a scan of every transfer for the debit side instead (measured in bench/risk.ts
 * after its history's ANALYZE: 188 us a verdict against 86 us, growing with the ledger).
 */
export function accountJournalQuery(accountId: string, asset: string, limit: number, engine: Engine) {
  const none = sql.raw('cast(null as text)');
  const nothingMore = sql.join(Array.from({ length: 15 }, () => none));
  const customer = sql`c.owner_id = ${opaqueParameter(engine, accountId)}
    and c.asset = ${opaqueParameter(engine, asset)} and c.kind = 'customer'`;
  const byDebit = engine === 'sqlite' ? sql.raw(' indexed by ledger_transfers_debit') : sql.raw('');
  const byCredit = engine === 'sqlite' ? sql.raw(' indexed by ledger_transfers_credit') : sql.raw('');
  const transfer = sql`t.id, ${none}, t.asset, ${none}, ${none}, ${none}, ${none}, t.kind, t.debit_account_id,
    t.credit_account_id, cast(t.amount as text), t.pending_id, t.code`;
  return sql<JournalRow>`
    select 'account' as part, c.id, c.owner_id, c.asset, cast(c.posted_debits as text) as posted_debits,
      cast(c.posted_credits as text) as posted_credits, cast(c.pending_debits as text) as pending_debits,
      cast(c.pending_credits as text) as pending_credits, ${none} as kind, ${none} as debit_account_id,
      ${none} as credit_account_id, ${none} as amount, ${none} as pending_id, ${none} as code,
      ${none} as source_owner_id, ${none} as source_kind, ${none} as source_asset,
      ${none} as deposit_account_id, ${none} as deposit_asset, ${none} as deposit_amount,
      ${none} as deposit_network, ${none} as deposit_txid, ${none} as deposit_output_index,
      ${none} as item_account_id, ${none} as item_asset, ${none} as item_units, ${none} as item_paid_at,
      ${none} as request_status, ${none} as requested_by, ${none} as approved_by,
      ${none} as withdrawal_account_id, ${none} as withdrawal_asset
    from ledger_accounts c
    where ${customer}
    union all
    select 'debit', ${transfer}, ${none}, ${none}, ${none}, ${nothingMore}
    from ledger_accounts c
    join ledger_transfers t${byDebit} on t.debit_account_id = c.id
    where ${customer}
    union all
    select 'credit', ${transfer}, s.owner_id, s.kind, s.asset,
      d.account_id, d.asset, cast(d.amount as text), d.network, d.txid, cast(d.output_index as text),
      i.account_id, i.asset, cast(i.units as text), i.paid_at, r.status, r.requested_by, r.approved_by,
      w.account_id, w.asset
    from ledger_accounts c
    join ledger_transfers t${byCredit} on t.credit_account_id = c.id
    left join ledger_accounts s on s.id = t.debit_account_id
    left join deposits d on d.transfer_id = t.id
    left join incident_reimbursement_items i on i.transfer_id = t.id
    left join incident_reimbursements r on r.id = i.reimbursement_id
    left join withdrawals w on w.id = i.withdrawal_id
    where ${customer}
    limit ${sql.lit(Math.trunc(limit))}`;
}
