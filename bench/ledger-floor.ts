import SQLite from 'better-sqlite3';
import pg from 'pg';
import { configureSqlite } from '../src/store/database.ts';
import type { Loop } from './measure.ts';

/*
 * The floor for the ledger benchmark: the very statements src/store/ledger issues for a hold and
 * its post (checked by running the ledger with Kysely's query log), sent straight through the
 * driver, with the checks and the bigint arithmetic inlined and nothing else.
 */

export const LEDGER_STATEMENTS = {
  lockAccounts: 'select * from "ledger_accounts" where "id" in (?, ?) order by "id"',
  transferById: 'select * from "ledger_transfers" where "id" = ?',
  insert:
    'insert into "ledger_transfers" ("id", "kind", "debit_account_id", "credit_account_id", "asset", "amount", "pending_id", "code", "reference", "created_at") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing',
  updateTotals: `update "ledger_accounts" set ${[
    'posted_debits',
    'posted_credits',
    'pending_debits',
    'pending_credits',
  ]
    .map((c) => `"${c}" = case when "id" = ? then ? when "id" = ? then ? else "${c}" end`)
    .join(', ')} where "id" in (?, ?)`,
} as const;
type StatementName = keyof typeof LEDGER_STATEMENTS;

interface AccountRow {
  id: string;
  posted_debits: string;
  posted_credits: string;
  pending_debits: string;
  pending_credits: string;
}
interface TransferRow {
  id: string;
  amount: string;
}

export interface FloorLoop {
  readonly loop: Loop;
  close(): Promise<void>;
}

function pair(rows: AccountRow[], debitId: string, creditId: string): [AccountRow, AccountRow] {
  const debit = rows.find((row) => row.id === debitId);
  const credit = rows.find((row) => row.id === creditId);
  if (debit === undefined || credit === undefined) throw new Error('floor accounts are missing');
  return [debit, credit];
}

const plus = (value: string, amount: bigint) => (BigInt(value) + amount).toString();
const COLUMNS = ['posted_debits', 'posted_credits', 'pending_debits', 'pending_credits'] as const;
type Column = (typeof COLUMNS)[number];

/** The parameters of `updateTotals`: each account's four totals, moved by `debitBy` and `creditBy`. */
function totals(
  debit: AccountRow,
  credit: AccountRow,
  debitBy: Partial<Record<Column, bigint>>,
  creditBy: Partial<Record<Column, bigint>>,
): string[] {
  return [
    ...COLUMNS.flatMap((c) => [
      debit.id,
      plus(debit[c], debitBy[c] ?? 0n),
      credit.id,
      plus(credit[c], creditBy[c] ?? 0n),
    ]),
    debit.id,
    credit.id,
  ];
}

/** better-sqlite3, statements prepared once, each transaction BEGIN IMMEDIATE ... COMMIT. */
export function sqliteFloor(path: string, debitId: string, creditId: string): FloorLoop {
  const handle = new SQLite(path);
  configureSqlite(handle);
  const begin = handle.prepare('begin immediate');
  const commit = handle.prepare('commit');
  const s = Object.fromEntries(
    Object.entries(LEDGER_STATEMENTS).map(([name, text]) => [name, handle.prepare(text)]),
  ) as Record<StatementName, SQLite.Statement>;
  const loop = (n: number): void => {
    const at = new Date().toISOString();
    const holdId = `fh${n}`;
    begin.run();
    let [debit, credit] = pair(s.lockAccounts.all(debitId, creditId) as AccountRow[], debitId, creditId);
    const held = s.insert.run(holdId, 'pending', debitId, creditId, 'BTC', '1', null, 'withdrawal', null, at);
    if (held.changes !== 1) throw new Error('hold exists');
    s.updateTotals.run(totals(debit, credit, { pending_debits: 1n }, { pending_credits: 1n }));
    commit.run();

    begin.run();
    const pending = s.transferById.get(holdId) as TransferRow;
    [debit, credit] = pair(s.lockAccounts.all(debitId, creditId) as AccountRow[], debitId, creditId);
    const posted = s.insert.run(
      `fp${n}`,
      'post_pending',
      debitId,
      creditId,
      'BTC',
      pending.amount,
      pending.id,
      'withdrawal_completed',
      null,
      at,
    );
    if (posted.changes !== 1) throw new Error('already resolved');
    const amount = BigInt(pending.amount);
    s.updateTotals.run(
      totals(
        debit,
        credit,
        { posted_debits: amount, pending_debits: -amount },
        { posted_credits: amount, pending_credits: -amount },
      ),
    );
    commit.run();
  };
  return {
    loop,
    close: async () => {
      handle.close();
    },
  };
}

/** One `pg` client, BEGIN / SELECT ... FOR UPDATE / UPDATE / INSERT / COMMIT. */
export async function postgresFloor(url: string, debitId: string, creditId: string): Promise<FloorLoop> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = Object.fromEntries(
    Object.entries(LEDGER_STATEMENTS).map(([name, text]) => {
      let n = 0;
      return [name, text.replace(/\?/g, () => `$${++n}`)];
    }),
  ) as Record<StatementName, string>;
  const lock = async () =>
    pair(
      (await client.query<AccountRow>(`${q.lockAccounts} for update`, [debitId, creditId])).rows,
      debitId,
      creditId,
    );
  const loop = async (n: number): Promise<void> => {
    const at = new Date().toISOString();
    const holdId = `fh${n}`;
    await client.query('begin');
    let [debit, credit] = await lock();
    const held = await client.query(q.insert, [
      holdId,
      'pending',
      debitId,
      creditId,
      'BTC',
      '1',
      null,
      'withdrawal',
      null,
      at,
    ]);
    if (held.rowCount !== 1) throw new Error('hold exists');
    await client.query(
      q.updateTotals,
      totals(debit, credit, { pending_debits: 1n }, { pending_credits: 1n }),
    );
    await client.query('commit');

    await client.query('begin');
    const pending = (await client.query<TransferRow>(q.transferById, [holdId])).rows[0];
    if (pending === undefined) throw new Error('hold is missing');
    [debit, credit] = await lock();
    const posted = await client.query(q.insert, [
      `fp${n}`,
      'post_pending',
      debitId,
      creditId,
      'BTC',
      pending.amount,
      pending.id,
      'withdrawal_completed',
      null,
      at,
    ]);
    if (posted.rowCount !== 1) throw new Error('already resolved');
    const amount = BigInt(pending.amount);
    await client.query(
      q.updateTotals,
      totals(
        debit,
        credit,
        { posted_debits: amount, pending_debits: -amount },
        { posted_credits: amount, pending_credits: -amount },
      ),
    );
    await client.query('commit');
  };
  return { loop, close: () => client.end() };
}
