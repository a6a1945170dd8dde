import { withdrawalDigest } from '../../core/withdrawals/digest.ts';
import type { WithdrawalRow } from '../../store/withdrawals.ts';

/**
 * The digest of what the row says would be paid. It differs from the stored digest only when the row was written
 * around the services (a database edit): every proof approves the stored digest, so such a row is never paid.
 */
export function digestOfTerms(withdrawal: WithdrawalRow): string {
  return withdrawalDigest({
    withdrawal_id: withdrawal.id,
    account_id: withdrawal.account_id,
    asset: withdrawal.asset,
    network: withdrawal.network,
    amount: withdrawal.amount,
    fee: withdrawal.fee,
    destination: withdrawal.destination_address,
    nonce: withdrawal.nonce,
  });
}
