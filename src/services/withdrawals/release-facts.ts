import { getAsset } from '../../core/money/index.ts';
import { addUsd, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import type { ReleasedLast24h, ReleaseFacts } from '../../core/risk/release-rules.ts';
import { proofBinding } from '../../core/withdrawals/proof-binding.ts';
import { coveringHalt } from '../../store/halts.ts';
import { findHold } from '../../store/ledger/index.ts';
import { findVerdicts } from '../../store/monitor.ts';
import type { Tx } from '../../store/transaction.ts';
import { readWithdrawalSubject } from '../../store/withdrawal-confirmation.ts';
import {
  DAILY_TOTAL_READ_CAP,
  findProof,
  lockReleaseSubjects,
  releasedSince,
  type WithdrawalRow,
} from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { accountAndDestinationFacts, priceOf } from './screening.ts';

const DAY_MS = 24 * 60 * 60_000;

/**
 * Everything the release rules weigh, read inside the releasing transaction: the halt first (it share-locks the
 * halt control row), then the account and destination as screening reads them, the proof and the ledger hold.
 */
export async function gatherReleaseFacts(
  context: ServiceContext,
  tx: Tx,
  withdrawal: WithdrawalRow,
  now: Date,
): Promise<ReleaseFacts> {
  const halt = await coveringHalt(context.database, tx, {
    asset: withdrawal.asset,
    network: withdrawal.network,
    accountId: withdrawal.account_id,
  });
  await lockReleaseSubjects(context.database, tx, withdrawal.account_id, withdrawal.destination_id);
  const subject = accountAndDestinationFacts(
    withdrawal,
    await readWithdrawalSubject(tx, withdrawal, now),
    now,
  );
  const proof = withdrawal.proof_id === null ? undefined : await findProof(tx, withdrawal.proof_id);
  const hold = await findHold(tx, withdrawal.id);
  return {
    releasedLast24h: await releasedLast24h(tx, withdrawal, now),
    dailyLimitUsd: context.withdrawals.dailyLimitUsd,
    ...subject,
    withdrawal,
    halt: halt === undefined ? undefined : { id: halt.id, scope: halt.scope, reason: halt.reason },
    proof: withdrawal.proof_id === null ? { ok: false, reason: 'no proof' } : proofBinding(withdrawal, proof),
    hold,
    verdicts: await findVerdicts(tx, withdrawal.id),
    monitorPublicKey: context.monitorPublicKey,
  };
}

async function releasedLast24h(tx: Tx, withdrawal: WithdrawalRow, now: Date): Promise<ReleasedLast24h> {
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  const rows = await releasedSince(tx, withdrawal.account_id, since, withdrawal.id);
  if (rows.length === 0) return { kind: 'none' };
  if (rows.length > DAILY_TOTAL_READ_CAP) return { kind: 'over_cap', cap: DAILY_TOTAL_READ_CAP };
  // Added per asset as bigints, this withdrawal apart, then valued once per asset at today's price.
  const byAsset = new Map<string, bigint>();
  for (const row of rows) byAsset.set(row.asset, (byAsset.get(row.asset) ?? 0n) + BigInt(row.amount));
  const value = async (asset: string, units: bigint): Promise<Usd | undefined> => {
    const price = await priceOf(tx, asset, now);
    return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
  };
  const withdrawalUsd = await value(withdrawal.asset, BigInt(withdrawal.amount));
  let usd: Usd = USD_ZERO;
  for (const [asset, units] of byAsset) {
    const valued = await value(asset, units);
    if (valued === undefined || withdrawalUsd === undefined) return { kind: 'unpriced' };
    usd = addUsd(usd, valued);
  }
  if (withdrawalUsd === undefined) return { kind: 'unpriced' };
  return { kind: 'valued', usd, withdrawalUsd };
}
