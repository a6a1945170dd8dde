import { CustodyRefused, type CustodySigner, type Handover } from '../../adapters/custody/custody-signer.ts';
import { inTransaction } from '../../store/transaction.ts';
import { moveWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';

const ACTOR = 'system:releaser';

/**
 * Hands a released withdrawal to the custody signer; refusal or an unknown outcome goes to errored, never voided.
 * Accepted with the txid still to come, it stays released (`pending`) and a later pass asks again.
 */
export async function submitToCustody(
  context: ServiceContext,
  custody: CustodySigner,
  withdrawal: WithdrawalRow,
): Promise<'broadcast' | 'pending' | 'errored'> {
  if (withdrawal.attestation === null)
    throw new Error('assertion failed: a released withdrawal carries its attestation');
  let handover: Handover;
  try {
    handover = await custody.submit({
      withdrawal_id: withdrawal.id,
      asset: withdrawal.asset,
      network: withdrawal.network,
      amount: withdrawal.amount,
      destination: withdrawal.destination_address,
      attestation: JSON.parse(withdrawal.attestation),
    });
  } catch (error) {
    const reason =
      error instanceof CustodyRefused
        ? `custody refused: ${error.message}`
        : `custody outcome unknown: ${error instanceof Error ? error.message : String(error)}`;
    await inTransaction(context.database, async (tx) => {
      const moved = await moveWithdrawal(tx, {
        id: withdrawal.id,
        from: 'released',
        path: [{ to: 'errored', actor: ACTOR, reason }],
        changes: { reason },
        at: context.clock.now().toISOString(),
      });
      if (moved) {
        await audit(tx, context, {
          actor: ACTOR,
          action: 'withdrawal.errored',
          subject: `withdrawal:${withdrawal.id}`,
          data: { reason },
        });
      }
    });
    return 'errored';
  }
  if (handover.txid === undefined) return 'pending';
  const { txid } = handover;
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
