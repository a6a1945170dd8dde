import type { Database } from './database.ts';
import type { SimulatedChainTxsTable } from './schema-withdrawals.ts';
import { inTransaction } from './transaction.ts';

export type SimulatedChainTx = Readonly<SimulatedChainTxsTable>;

/**
 * The simulated chain's transactions (the embedded default's stand-in for a real chain), one per withdrawal. In the
 * database because every node of a deployment must see the one chain; given to the SimulatedChain transport, which
 * never opens a database itself.
 */
export function simulatedChainStore(database: Database): {
  broadcast(transaction: SimulatedChainTx): Promise<string>;
  find(withdrawalId: string): Promise<SimulatedChainTx | undefined>;
} {
  return {
    broadcast: (transaction) =>
      inTransaction(database, async (tx) => {
        // Keyed by withdrawal id: a second broadcast (a retry, or another node) finds the first one's txid.
        await tx
          .insertInto('simulated_chain_txs')
          .values(transaction)
          .onConflict((conflict) => conflict.doNothing())
          .execute();
        const row = await tx
          .selectFrom('simulated_chain_txs')
          .select('txid')
          .where('withdrawal_id', '=', transaction.withdrawal_id)
          .executeTakeFirstOrThrow();
        return row.txid;
      }),
    find: (withdrawalId) =>
      database.db
        .selectFrom('simulated_chain_txs')
        .selectAll()
        .where('withdrawal_id', '=', withdrawalId)
        .executeTakeFirst(),
  };
}
