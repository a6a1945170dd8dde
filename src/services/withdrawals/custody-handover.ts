import { coveringHalt } from '../../store/halts.ts';
import { inTransaction } from '../../store/transaction.ts';
import { moveWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import type { ServiceContext } from '../context.ts';
import type { Custody, HandoverOutcome } from '../custody/handover.ts';
import { markErrored } from './errored.ts';

const ACTOR = 'system:releaser';

/**
 * Hands a released withdrawal to custody; refusal or an unknown outcome (a custody service that throws included)
 * goes to errored, never voided. Accepted with the txid still to come, it stays released (`pending`) and a later
 * pass asks again.
 */
export async function submitToCustody(
  context: ServiceContext,
  custody: Custody,
  withdrawal: WithdrawalRow,
): Promise<'broadcast' | 'pending' | 'errored' | 'halted'> {
  if (withdrawal.attestation === null)
    throw new Error('assertion failed: a released withdrawal carries its attestation');
  // A halt also stops what was released before it but not yet handed over (a crash between the two, a release
  // that committed just before the halt): it stays released, nothing is sent, until the halt is lifted.
  const halt = await inTransaction(context.database, (tx) =>
    coveringHalt(context.database, tx, {
      asset: withdrawal.asset,
      network: withdrawal.network,
      accountId: withdrawal.account_id,
    }),
  );
  if (halt !== undefined) return 'halted';
  let outcome: HandoverOutcome;
  try {
    outcome = await custody.submit({
      withdrawal_id: withdrawal.id,
      asset: withdrawal.asset,
      network: withdrawal.network,
      amount: withdrawal.amount,
      destination: withdrawal.destination_address,
      attestation: JSON.parse(withdrawal.attestation),
    });
  } catch (error) {
    outcome = { kind: 'unknown', reason: error instanceof Error ? error.message : String(error) };
  }
  if (outcome.kind === 'refused' || outcome.kind === 'unknown') {
    const reason =
      outcome.kind === 'refused'
        ? `custody refused: ${outcome.reason}`
        : `custody outcome unknown: ${outcome.reason}`;
    await inTransaction(context.database, (tx) =>
      markErrored(tx, context, withdrawal, {
        from: 'released',
        actor: ACTOR,
        reason,
        action: 'withdrawal.errored',
      }),
    );
    return 'errored';
  }
  if (outcome.kind === 'pending') return 'pending';
  const { txid } = outcome;
  await inTransaction(context.database, (tx) =>
    moveWithdrawal(tx, {
      id: withdrawal.id,
      from: 'released',
      path: [{ to: 'broadcast', actor: ACTOR, reason: null }],
      changes: { txid },
      at: context.clock.now().toISOString(),
    }),
  );
  return 'broadcast';
}
