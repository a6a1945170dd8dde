import { COOLING_SETTING } from '../core/address-book/cooling.ts';
import { newId } from '../core/ids.ts';
import { compiledOnce, rowsOf } from './compiled-query.ts';
import type { AddressBookEntriesTable } from './schema-address-book.ts';
import type { Tx } from './transaction.ts';
import { type Queryable, queryable } from './transaction.ts';

export interface AddressBookEntry {
  readonly id: string;
  readonly accountId: string;
  readonly network: string;
  readonly address: string;
  readonly addressType: string;
  readonly label: string;
  readonly coolingMs: number;
  readonly createdAt: Date;
  readonly removedAt: Date | null;
}

function fromRow(row: AddressBookEntriesTable): AddressBookEntry {
  return {
    id: row.id,
    accountId: row.account_id,
    network: row.network,
    address: row.address,
    addressType: row.address_type,
    label: row.label,
    coolingMs: Number(row.cooling_ms),
    createdAt: new Date(row.created_at),
    removedAt: row.removed_at === null ? null : new Date(row.removed_at),
  };
}

export async function insertEntry(
  tx: Tx,
  input: Omit<AddressBookEntry, 'id' | 'removedAt'>,
): Promise<AddressBookEntry> {
  const id = newId();
  await tx
    .insertInto('address_book_entries')
    .values({
      id,
      account_id: input.accountId,
      network: input.network,
      address: input.address,
      address_type: input.addressType,
      label: input.label,
      cooling_ms: input.coolingMs,
      created_at: input.createdAt.toISOString(),
      removed_at: null,
    })
    .execute();
  return { ...input, id, removedAt: null };
}

export async function findLiveEntry(tx: Tx, accountId: string, network: string, address: string) {
  const row = await tx
    .selectFrom('address_book_entries')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('network', '=', network)
    .where('address', '=', address)
    .where('removed_at', 'is', null)
    .executeTakeFirst();
  return row === undefined ? undefined : fromRow(row);
}

/** An entry of this account (removed ones included, for history); another account's entry is not found. */
export async function findEntry(
  tx: Tx,
  accountId: string,
  id: string,
): Promise<AddressBookEntry | undefined> {
  return entryFromRow((await rowsOf(tx, entryQuery(tx, accountId, id)))[0]);
}

/** findEntry's statement, for a caller that batches it (store/transaction.ts `together`). */
export function entryQuery(tx: Tx, accountId: string, id: string) {
  return selectEntry.statement(tx, accountId, id);
}

const selectEntry = compiledOnce(2, (tx: Tx, _engine, accountId: string, id: string) =>
  tx.selectFrom('address_book_entries').selectAll().where('id', '=', id).where('account_id', '=', accountId),
);

export function entryFromRow(row: Parameters<typeof fromRow>[0] | undefined): AddressBookEntry | undefined {
  return row === undefined ? undefined : fromRow(row);
}

export async function listLiveEntries(
  on: Queryable,
  accountId: string,
  limit: number,
): Promise<AddressBookEntry[]> {
  const tx = queryable(on);
  const rows = await tx
    .selectFrom('address_book_entries')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('removed_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map(fromRow);
}

export async function countLiveEntries(tx: Tx, accountId: string): Promise<number> {
  const row = await tx
    .selectFrom('address_book_entries')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('account_id', '=', accountId)
    .where('removed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function markRemoved(tx: Tx, id: string, at: Date): Promise<boolean> {
  const result = await tx
    .updateTable('address_book_entries')
    .set({ removed_at: at.toISOString() })
    .where('id', '=', id)
    .where('removed_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** The distinct times at which cooling-period changes of an account are still waiting to take effect, soonest first. */
export async function pendingCoolingChangeTimes(
  tx: Tx,
  accountId: string,
  after: Date,
  limit: number,
): Promise<string[]> {
  const rows = await tx
    .selectFrom('security_settings_history')
    .select('effective_at')
    .distinct()
    .where('principal_id', '=', accountId)
    .where('setting', '=', COOLING_SETTING)
    .where('effective_at', '>', after.toISOString())
    .orderBy('effective_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.effective_at);
}
