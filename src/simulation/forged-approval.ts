import { totpAt } from '../core/mfa/totp.ts';
import { proofHash } from '../core/withdrawals/digest.ts';
import type { ServiceContext } from '../services/context.ts';
import { customerAccount, inFlightAccount } from '../services/withdrawals/ledger-accounts.ts';
import { forceQueued, insertForgedProof } from '../store/fault-injection.ts';
import { placeHold } from '../store/ledger/index.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import type { WithdrawalRow } from '../store/withdrawals.ts';

/**
 * Fault injection for the 2022 replay and the attack tests (test/support/forged-approvals.ts re-exports it).
 *
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
    await insertForgedProof(tx, {
      id: `forged-${row.id}`,
      withdrawal_id: row.id,
      account_id: row.account_id,
      digest: row.digest,
      method: input.method,
      factor_id: input.factorId,
      evidence: JSON.stringify(evidence),
      proof_hash: proofHash(evidence),
      created_at: input.proofCreatedAt ?? now.toISOString(),
    });
    await input.tamper?.(tx, row.id);
    await forceQueued(tx, row.id, `forged-${row.id}`, new Date(now.getTime() - 1000).toISOString());
  });
}

/** The usual forgery: a TOTP proof with a code that is not the secret's code at this step (the 2022 bypass). */
export function forgeTotpApproval(
  context: ServiceContext,
  row: WithdrawalRow,
  factorId: string,
  secret: string,
): Promise<void> {
  const now = context.clock.now();
  const right = totpAt(secret, now);
  return forgeApproval(context, {
    withdrawal: row,
    method: 'totp',
    factorId,
    evidence: { step: Math.floor(now.getTime() / 30_000), code: right === '000000' ? '000001' : '000000' },
  });
}
