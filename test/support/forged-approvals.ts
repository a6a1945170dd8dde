import { sql } from 'kysely';
import { proofHash } from '../../src/core/withdrawals/digest.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { customerAccount, inFlightAccount } from '../../src/services/withdrawals/ledger-accounts.ts';
import { placeHold } from '../../src/store/ledger/index.ts';
import { inTransaction, type Tx } from '../../src/store/transaction.ts';
import type { WithdrawalRow } from '../../src/store/withdrawals.ts';

/**
 * The 2022 bypass, as an attacker with write access to the tables commits it: below the services, in one
 * transaction, a requested withdrawal gets its ledger hold (amount + fee, as confirmation places it), a proof row
 * whose evidence (`evidence`, beside the binding fields) hashes by the published formula, whatever `tamper` does,
 * and the move to queued with its cancel window already over. Every constraint is met; only the cryptography is not.
 */
export async function forgeApproval(
  context: ServiceContext,
  input: {
    readonly withdrawal: WithdrawalRow;
    readonly method: 'totp' | 'recovery_code' | 'passkey';
    readonly factorId: string;
    readonly evidence: Readonly<Record<string, unknown>>;
    readonly proofCreatedAt?: string;
    readonly tamper?: (tx: Tx, withdrawalId: string) => Promise<void>;
  },
): Promise<void> {
  const { withdrawal: row } = input;
  const now = context.clock.now();
  const evidence = {
    v: 1,
    withdrawal_id: row.id,
    digest: row.digest,
    method: input.method,
    factor_id: input.factorId,
    ...input.evidence,
  };
  await inTransaction(context.database, async (tx) => {
    const balance = await customerAccount(tx, row.account_id, row.asset, now);
    const inFlight = await inFlightAccount(tx, row.account_id, row.asset, now);
    await placeHold(
      tx,
      {
        id: row.id,
        debitAccountId: balance.id,
        creditAccountId: inFlight.id,
        asset: row.asset,
        amount: BigInt(row.amount) + BigInt(row.fee),
        code: 'withdrawal',
        reference: row.digest,
      },
      now,
    );
    await tx
      .insertInto('withdrawal_proofs')
      .values({
        id: `forged-${row.id}`,
        withdrawal_id: row.id,
        account_id: row.account_id,
        digest: row.digest,
        method: input.method,
        factor_id: input.factorId,
        evidence: JSON.stringify(evidence),
        proof_hash: proofHash(evidence),
        created_at: input.proofCreatedAt ?? now.toISOString(),
      })
      .execute();
    await input.tamper?.(tx, row.id);
    await sql`update withdrawals set state = 'queued', proof_id = ${`forged-${row.id}`},
      release_after = ${new Date(now.getTime() - 1000).toISOString()}, first_use = 0
      where id = ${row.id}`.execute(tx);
  });
}
