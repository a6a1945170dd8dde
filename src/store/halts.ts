import { sql } from 'kysely';
import type { HaltScopeFields, HaltTarget } from '../core/halts/halt-scope.ts';
import type { Database } from './database.ts';
import type { HaltsTable } from './schema-withdrawals.ts';
import type { Tx } from './transaction.ts';
import { type Queryable, queryable } from './transaction.ts';

export type HaltRow = Readonly<HaltsTable>;

/** Where a page of active halts may start: the `(created_at, id)` of the last halt of the previous page. */
export interface HaltCursor {
  readonly createdAt: string;
  readonly id: string;
}

/**
 * Takes the halt control row: FOR UPDATE by a halt or a lift, FOR SHARE by a release. A halt call therefore
 * returns only after every release that did not see it has committed, and every later release sees it
 * (DESIGN invariant 4). SQLite has one writer at a time, which gives the same order.
 */
async function bumpHaltControl(tx: Tx): Promise<void> {
  const result = await tx
    .updateTable('halt_control')
    .set({ version: sql`version + 1` })
    .where('id', '=', 1)
    .executeTakeFirst();
  // Without the row there is nothing for releases to wait on: refuse rather than halt without the ordering.
  if (result.numUpdatedRows !== 1n) throw new Error('assertion failed: the halt control row is missing');
}

/** What a release reads when the halt control row is gone: nothing may be released until it is back. */
const CONTROL_ROW_MISSING: HaltRow = Object.freeze({
  id: 'halt-control-missing',
  scope: 'global',
  asset: null,
  network: null,
  account_id: null,
  reason: 'the halt control row is missing: releases wait until it is restored',
  created_by: 'system:integrity',
  created_at: '1970-01-01T00:00:00.000Z',
  lifted_at: null,
  lifted_by: null,
});

export async function insertHalt(tx: Tx, row: HaltRow): Promise<void> {
  await bumpHaltControl(tx);
  await tx.insertInto('halts').values(row).execute();
}

/** Inserts many halts (an incident freezing accounts) in slices, with one bump of the halt control row. */
export async function insertHalts(tx: Tx, rows: readonly HaltRow[]): Promise<void> {
  if (rows.length === 0) return;
  await bumpHaltControl(tx);
  for (let i = 0; i < rows.length; i += 500)
    await tx
      .insertInto('halts')
      .values(rows.slice(i, i + 500))
      .execute();
}

/** Lifts an active halt; false when there is no active halt by that id. */
export async function liftHaltRow(tx: Tx, id: string, by: string, at: string): Promise<boolean> {
  await bumpHaltControl(tx);
  const result = await tx
    .updateTable('halts')
    .set({ lifted_at: at, lifted_by: by })
    .where('id', '=', id)
    .where('lifted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * The first active halt covering `target`, or undefined: `haltCovers` (src/core/halts/halt-scope.ts) in SQL, one
 * lookup over the partial indexes of migration 0015, however many halts are active. Any one covering halt is
 * enough to stop a release, so the LIMIT 1 only ends the search; it never hides a halt that covers.
 * Inside a releasing transaction, on PostgreSQL, it first share-locks the halt control row.
 */
export async function coveringHalt(
  database: Database,
  tx: Tx,
  target: HaltTarget,
): Promise<HaltRow | undefined> {
  const control =
    database.engine === 'postgres'
      ? await sql`select version from halt_control where id = 1 for share`.execute(tx)
      : await sql`select version from halt_control where id = 1`.execute(tx);
  // A deleted control row would let a halt return without waiting for releases in flight: fail closed.
  if (control.rows.length !== 1) return CONTROL_ROW_MISSING;
  return tx
    .selectFrom('halts')
    .selectAll()
    .where('lifted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('scope', '=', 'global'),
        eb.and([
          eb('scope', '=', 'asset'),
          eb('asset', '=', target.asset),
          eb.or([eb('network', 'is', null), eb('network', '=', target.network)]),
        ]),
        eb.and([eb('scope', '=', 'account'), eb('account_id', '=', target.accountId)]),
      ]),
    )
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

/** One page of the active halts, oldest first; `limit` + 1 rows are read so the caller knows if there are more. */
export async function activeHaltsPage(
  on: Queryable,
  limit: number,
  after?: HaltCursor,
): Promise<{ halts: HaltRow[]; hasMore: boolean }> {
  const tx = queryable(on);
  let query = tx.selectFrom('halts').selectAll().where('lifted_at', 'is', null);
  if (after !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
      ]),
    );
  }
  const rows = await query
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  return { halts: rows.slice(0, limit), hasMore: rows.length > limit };
}

export async function findHalt(on: Queryable, id: string): Promise<HaltRow | undefined> {
  const tx = queryable(on);
  return tx.selectFrom('halts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countActiveHalts(tx: Tx): Promise<number> {
  const row = await tx
    .selectFrom('halts')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('lifted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type { HaltScopeFields };

/**
 * An active halt of exactly this scope (global, an asset on every network, an account) that `placedBy` placed
 * outside any incident, or undefined. The monitor reuses only its own: an operator's halt of the same scope is
 * lifted by that one operator, and an incident's by a resume whose approvers never saw the monitor's finding.
 */
export async function activeHaltOfScope(
  on: Queryable,
  scope:
    | { readonly scope: 'global' }
    | { readonly scope: 'asset'; readonly asset: string }
    | { readonly scope: 'account'; readonly accountId: string },
  placedBy: string,
): Promise<HaltRow | undefined> {
  let query = queryable(on)
    .selectFrom('halts')
    .selectAll()
    .where('lifted_at', 'is', null)
    .where('created_by', '=', placedBy)
    .where('incident_id', 'is', null)
    .where('scope', '=', scope.scope);
  if (scope.scope === 'asset') query = query.where('asset', '=', scope.asset).where('network', 'is', null);
  if (scope.scope === 'account') query = query.where('account_id', '=', scope.accountId);
  return query.limit(1).executeTakeFirst();
}
