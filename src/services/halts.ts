import { sql } from 'kysely';
import { DomainError, invalidInput } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { getAsset } from '../core/money/index.ts';
import { isNetwork, type Network } from '../core/networks.ts';
import type { Database } from '../store/database.ts';
import type { HaltsTable } from '../store/schema-withdrawals.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';

export type HaltScope =
  | { readonly scope: 'global' }
  | { readonly scope: 'asset'; readonly asset: string; readonly network: Network | null }
  | { readonly scope: 'account'; readonly accountId: string };

export function parseHalt(input: {
  scope?: unknown;
  asset?: unknown;
  network?: unknown;
  account_id?: unknown;
}): HaltScope {
  if (input.scope === 'global') return { scope: 'global' };
  if (input.scope === 'asset') {
    if (typeof input.asset !== 'string') throw invalidInput('asset', 'is required for an asset halt');
    const asset = getAsset(input.asset).code;
    if (input.network !== undefined && (typeof input.network !== 'string' || !isNetwork(input.network))) {
      throw invalidInput('network', 'is not a known network');
    }
    return { scope: 'asset', asset, network: (input.network as Network | undefined) ?? null };
  }
  if (input.scope === 'account') {
    if (typeof input.account_id !== 'string' || input.account_id.length > 64)
      throw invalidInput('account_id', 'is required for an account halt');
    return { scope: 'account', accountId: input.account_id };
  }
  throw invalidInput('scope', 'must be global, asset or account');
}

/**
 * Sets a halt. Updating `halt_control` takes the row lock every release holds FOR SHARE, so this call returns
 * only after every release that did not see the halt has committed; every later release sees it (invariant 4).
 */
export async function setHalt(
  context: ServiceContext,
  actor: string,
  scope: HaltScope,
  reasonInput: unknown,
) {
  if (typeof reasonInput !== 'string' || reasonInput.length < 3 || reasonInput.length > 500)
    throw invalidInput('reason', 'must say why, in 3..500 characters');
  const reason = reasonInput;
  return inTransaction(context.database, async (tx) => {
    await tx.updateTable('halt_control').set({ version: sql`version + 1` }).where('id', '=', 1).execute();
    const row: HaltsTable = {
      id: newId(),
      scope: scope.scope,
      asset: scope.scope === 'asset' ? scope.asset : null,
      network: scope.scope === 'asset' ? scope.network : null,
      account_id: scope.scope === 'account' ? scope.accountId : null,
      reason,
      created_by: actor,
      created_at: context.clock.now().toISOString(),
      lifted_at: null,
      lifted_by: null,
    };
    await tx.insertInto('halts').values(row).execute();
    await audit(tx, context, {
      actor,
      action: 'halt.set',
      subject: `halt:${row.id}`,
      data: { scope: row.scope, asset: row.asset, network: row.network, account_id: row.account_id, reason },
    });
    return row;
  });
}

export async function liftHalt(context: ServiceContext, actor: string, id: string) {
  return inTransaction(context.database, async (tx) => {
    await tx.updateTable('halt_control').set({ version: sql`version + 1` }).where('id', '=', 1).execute();
    const result = await tx
      .updateTable('halts')
      .set({ lifted_at: context.clock.now().toISOString(), lifted_by: actor })
      .where('id', '=', id)
      .where('lifted_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new DomainError('NOT_FOUND', `no active halt ${id}`);
    await audit(tx, context, { actor, action: 'halt.lifted', subject: `halt:${id}` });
    return { id, lifted: true };
  });
}

export async function activeHalts(tx: Tx) {
  return tx
    .selectFrom('halts')
    .selectAll()
    .where('lifted_at', 'is', null)
    .orderBy('created_at')
    .limit(1000)
    .execute();
}

/**
 * Inside a releasing transaction: share-locks the halt control row (PostgreSQL), then tells whether any active
 * halt covers this withdrawal.
 */
export async function haltCovering(
  database: Database,
  tx: Tx,
  withdrawal: { asset: string; network: string; account_id: string },
): Promise<HaltsTable | undefined> {
  if (database.engine === 'postgres') {
    await sql`select version from halt_control where id = 1 for share`.execute(tx);
  }
  const halts = await activeHalts(tx);
  return halts.find(
    (h) =>
      h.scope === 'global' ||
      (h.scope === 'asset' &&
        h.asset === withdrawal.asset &&
        (h.network === null || h.network === withdrawal.network)) ||
      (h.scope === 'account' && h.account_id === withdrawal.account_id),
  );
}
