import type { DepositsTable } from './schema-withdrawals.ts';
import type { Tx } from './transaction.ts';

export type DepositRow = Readonly<DepositsTable>;

/** The deposit already credited for one chain output (network, txid, output index), if any. */
export async function findDepositByOutput(
  tx: Tx,
  network: string,
  txid: string,
  outputIndex: number,
): Promise<DepositRow | undefined> {
  return tx
    .selectFrom('deposits')
    .selectAll()
    .where('network', '=', network)
    .where('txid', '=', txid)
    .where('output_index', '=', outputIndex)
    .executeTakeFirst();
}

export async function insertDeposit(tx: Tx, row: DepositsTable): Promise<void> {
  await tx.insertInto('deposits').values(row).execute();
}
