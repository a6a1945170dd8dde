import type { ReleaseFacts } from '../../core/risk/release-rules.ts';
import { proofBinding } from '../../core/withdrawals/proof-binding.ts';
import { coveringHalt } from '../../store/halts.ts';
import { findHold } from '../../store/ledger/index.ts';
import { readTogether, type Tx } from '../../store/transaction.ts';
import { findProof, lockReleaseSubjects, type WithdrawalRow } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import { accountAndDestinationReads } from './screening.ts';

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
  const [subject] = await readTogether(tx, accountAndDestinationReads(tx, withdrawal, now));
  const proof = withdrawal.proof_id === null ? undefined : await findProof(tx, withdrawal.proof_id);
  const hold = await findHold(tx, withdrawal.id);
  return {
    ...subject,
    withdrawal,
    halt: halt === undefined ? undefined : { id: halt.id, scope: halt.scope, reason: halt.reason },
    proof: withdrawal.proof_id === null ? { ok: false, reason: 'no proof' } : proofBinding(withdrawal, proof),
    hold,
  };
}
