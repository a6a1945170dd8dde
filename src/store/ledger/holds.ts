import type { HoldFacts } from '../../core/risk/release-rules.ts';
import type { Tx } from '../transaction.ts';
import { amountFromRow } from './rows.ts';

/**
 * A hold as the release rules weigh it: the transfer under `id`, both its accounts' owners and kinds, and whether
 * a posting or a void resolved it (`pending_id` is UNIQUE, so at most one did). One statement.
 */
export async function findHold(tx: Tx, id: string): Promise<HoldFacts | undefined> {
  return (await findHolds(tx, [id])).get(id);
}

/** findHold for many transfers at once (a containment's batch), in one statement; ids without a transfer are absent. */
export async function findHolds(tx: Tx, ids: readonly string[]): Promise<Map<string, HoldFacts>> {
  const holds = new Map<string, HoldFacts>();
  if (ids.length === 0) return holds;
  const rows = await tx
    .selectFrom('ledger_transfers as t')
    .innerJoin('ledger_accounts as d', 'd.id', 't.debit_account_id')
    .innerJoin('ledger_accounts as c', 'c.id', 't.credit_account_id')
    .leftJoin('ledger_transfers as r', 'r.pending_id', 't.id')
    .select([
      't.id',
      't.kind',
      't.asset',
      't.amount',
      't.reference',
      'd.owner_id as debit_owner',
      'd.kind as debit_kind',
      'd.asset as debit_asset',
      'c.owner_id as credit_owner',
      'c.kind as credit_kind',
      'c.asset as credit_asset',
      'r.kind as resolved_by',
    ])
    .where('t.id', 'in', ids)
    .execute();
  for (const row of rows) {
    const resolvedBy = row.resolved_by;
    holds.set(row.id, {
      kind: row.kind,
      asset: row.asset,
      amount: amountFromRow(row.amount),
      reference: row.reference,
      debit: { ownerId: row.debit_owner, kind: row.debit_kind, asset: row.debit_asset },
      credit: { ownerId: row.credit_owner, kind: row.credit_kind, asset: row.credit_asset },
      resolvedBy: resolvedBy === 'post_pending' || resolvedBy === 'void_pending' ? resolvedBy : null,
    });
  }
  return holds;
}
