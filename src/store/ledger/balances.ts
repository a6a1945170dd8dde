import { assert, notFound } from '../../core/errors.ts';
import { type Queryable, queryable, type Tx } from '../transaction.ts';
import { getAccount } from './accounts.ts';
import { accountFromRow, amountFromRow } from './rows.ts';
import { type Account, type AccountBalance, type AssetTotals, availableOf } from './types.ts';

/** Rows read per page when summing; amounts are summed in JS because SQLite stores them as text. */
export const BALANCE_PAGE_SIZE = 1000;
/** 10 million accounts per asset; past that, summing in one call is the wrong tool and we say so. */
export const MAX_BALANCE_PAGES = 10_000;

export function balanceOf(account: Account): AccountBalance {
  return Object.freeze({
    accountId: account.id,
    asset: account.asset,
    postedDebits: account.postedDebits,
    postedCredits: account.postedCredits,
    pendingDebits: account.pendingDebits,
    pendingCredits: account.pendingCredits,
    available: availableOf(account),
  });
}

export async function accountBalance(tx: Tx, accountId: string): Promise<AccountBalance> {
  const account = await getAccount(tx, accountId);
  if (account === undefined) throw notFound('ledger account', accountId);
  return balanceOf(account);
}

/** Sums every account of `asset` (of one `kind` when given), page by page in id order. */
export async function assetTotals(tx: Tx, asset: string, kind: string | null = null): Promise<AssetTotals> {
  let accounts = 0;
  let postedDebits = 0n;
  let postedCredits = 0n;
  let pendingDebits = 0n;
  let pendingCredits = 0n;
  let after = '';
  for (let page = 0; ; page++) {
    assert(
      page < MAX_BALANCE_PAGES,
      `asset ${asset} has more than ${MAX_BALANCE_PAGES * BALANCE_PAGE_SIZE} accounts`,
    );
    let query = tx
      .selectFrom('ledger_accounts')
      .select(['id', 'posted_debits', 'posted_credits', 'pending_debits', 'pending_credits'])
      .where('asset', '=', asset)
      .where('id', '>', after)
      .orderBy('id')
      .limit(BALANCE_PAGE_SIZE);
    if (kind !== null) query = query.where('kind', '=', kind);
    const rows = await query.execute();
    for (const row of rows) {
      accounts += 1;
      postedDebits += amountFromRow(row.posted_debits);
      postedCredits += amountFromRow(row.posted_credits);
      pendingDebits += amountFromRow(row.pending_debits);
      pendingCredits += amountFromRow(row.pending_credits);
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < BALANCE_PAGE_SIZE) break;
    after = last.id;
  }
  return Object.freeze({ asset, kind, accounts, postedDebits, postedCredits, pendingDebits, pendingCredits });
}

/**
 * An owner's accounts of one kind (a customer's balances), one per asset, by asset: at most `limit` (display only;
 * an owner has one account per asset and kind, so the number of assets bounds it).
 */
export async function ownerBalances(
  on: Queryable,
  ownerId: string,
  kind: string,
  limit: number,
): Promise<AccountBalance[]> {
  const rows = await queryable(on)
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('kind', '=', kind)
    .orderBy('asset')
    .limit(limit)
    .execute();
  return rows.map((row) => balanceOf(accountFromRow(row)));
}
