import { formatAmount, getAsset } from '../../core/money/index.ts';
import type { WithdrawalRow } from '../../store/withdrawals.ts';

/** The API shape of a withdrawal: amounts as decimal strings in the asset's unit, never numbers. */
export function viewWithdrawal(row: WithdrawalRow) {
  const asset = getAsset(row.asset);
  return {
    id: row.id,
    state: row.state,
    asset: row.asset,
    network: row.network,
    amount: formatAmount(BigInt(row.amount), asset),
    fee: BigInt(row.fee) === 0n ? '0' : formatAmount(BigInt(row.fee), asset),
    destination_id: row.destination_id,
    destination: row.destination_address,
    destination_label: row.destination_label,
    summary: row.summary,
    digest: row.digest,
    nonce: row.nonce,
    expires_at: row.expires_at,
    release_after: row.release_after,
    time_locked_until: row.time_locked_until,
    txid: row.txid,
    usd_value: row.usd_value,
    reason: row.reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type WithdrawalView = ReturnType<typeof viewWithdrawal>;
