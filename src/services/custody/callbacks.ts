import type { JsonObject } from '../../core/audit-hash.ts';
import { type CustodyReport, judgeReport } from '../../core/withdrawals/custody-report.ts';
import {
  type CustodyCallbackRow,
  claimCallback,
  findCallback,
  lockHandoff,
  settleCallback,
  updateHandoff,
} from '../../store/custody-callbacks.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { findWithdrawal } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';

const ACTOR = 'custody:webhook';

/** A status callback from the integrator's custody signer, its signature already verified. */
export interface CustodyCallback {
  readonly withdrawal_id: string;
  readonly status: CustodyReport;
  /** Required with `broadcast` and `confirmed` (the route checks); optional with `failed`. */
  readonly txid?: string | undefined;
}

export interface CallbackAccepted {
  readonly withdrawal_id: string;
  readonly status: CustodyReport;
  readonly txid: string | null;
  /** `applied`: the report moved what we know; `unchanged`: we knew it already. */
  readonly outcome: 'applied' | 'unchanged';
}

export type CallbackAnswer =
  | { readonly ok: true; readonly replayed: boolean; readonly answer: CallbackAccepted }
  | {
      readonly ok: false;
      readonly replayed: boolean;
      readonly code: 'NOT_FOUND' | 'CONFLICT';
      readonly reason: string;
    };

/**
 * Records one signed status callback, in one transaction. The `webhook-id` is claimed first: the same message
 * again gets the first answer and changes nothing; another message under a used id is refused. A report that
 * would move custody status backwards, or change a txid, is refused, kept and audited for an operator. The
 * withdrawal itself is moved by the releaser's settlement step, which reads what is stored here.
 */
export async function receiveCustodyCallback(
  context: ServiceContext,
  input: { webhookId: string; bodyHash: string; callback: CustodyCallback },
): Promise<CallbackAnswer> {
  const { webhookId, bodyHash, callback } = input;
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const claimed = await claimCallback(tx, {
      webhook_id: webhookId,
      body_hash: bodyHash,
      withdrawal_id: callback.withdrawal_id,
      status: callback.status,
      txid: callback.txid ?? null,
      received_at: now.toISOString(),
    });
    if (!claimed) return replay(tx, context, webhookId, bodyHash, callback);

    const refuse = async (code: 'NOT_FOUND' | 'CONFLICT', reason: string, data: JsonObject = {}) => {
      await settleCallback(tx, webhookId, {
        outcome: 'refused',
        answerCode: code === 'NOT_FOUND' ? 404 : 409,
        reason,
      });
      await auditRefusal(tx, context, webhookId, callback, reason, {
        severity: code === 'NOT_FOUND' ? 'warning' : 'critical',
        ...data,
      });
      return { ok: false as const, replayed: false, code, reason };
    };

    if ((await findWithdrawal(tx, callback.withdrawal_id)) === undefined) {
      return refuse('NOT_FOUND', `withdrawal ${callback.withdrawal_id} does not exist`);
    }
    const handoff = await lockHandoff(context.database, tx, callback.withdrawal_id);
    if (handoff === undefined) {
      return refuse('CONFLICT', `withdrawal ${callback.withdrawal_id} was never handed to custody`);
    }
    const judgement = judgeReport(handoff, callback);
    if (judgement.kind === 'refuse') {
      return refuse('CONFLICT', judgement.reason, {
        current_status: handoff.status,
        current_txid: handoff.txid,
      });
    }
    if (judgement.kind === 'apply') {
      await updateHandoff(tx, callback.withdrawal_id, {
        status: judgement.status,
        txid: judgement.txid,
        at: now,
      });
      await audit(tx, context, {
        actor: ACTOR,
        action: 'custody.callback_applied',
        subject: `withdrawal:${callback.withdrawal_id}`,
        data: { webhook_id: webhookId, status: judgement.status, txid: judgement.txid, was: handoff.status },
      });
    }
    const outcome = judgement.kind === 'apply' ? 'applied' : 'unchanged';
    await settleCallback(tx, webhookId, { outcome, answerCode: 200, reason: null });
    return { ok: true as const, replayed: false, answer: acceptedAnswer(callback, outcome) };
  });
}

function acceptedAnswer(
  callback: Pick<CustodyCallbackRow, 'withdrawal_id' | 'status'> & { txid?: string | null | undefined },
  outcome: 'applied' | 'unchanged',
): CallbackAccepted {
  return {
    withdrawal_id: callback.withdrawal_id,
    status: callback.status,
    txid: callback.txid ?? null,
    outcome,
  };
}

/** A `webhook-id` seen before: the same message gets its first answer; another message under it is refused. */
async function replay(
  tx: Tx,
  context: ServiceContext,
  webhookId: string,
  bodyHash: string,
  callback: CustodyCallback,
): Promise<CallbackAnswer> {
  const first = await findCallback(tx, webhookId);
  if (first === undefined || first.outcome === 'pending') {
    throw new Error('assertion failed: a claimed callback id is settled when its transaction commits');
  }
  if (first.body_hash !== bodyHash) {
    const reason = `webhook-id ${webhookId} was already used for another message`;
    await auditRefusal(tx, context, webhookId, callback, reason, { severity: 'critical' });
    return { ok: false, replayed: false, code: 'CONFLICT', reason };
  }
  if (first.outcome === 'refused') {
    return {
      ok: false,
      replayed: true,
      code: first.answer_code === 404 ? 'NOT_FOUND' : 'CONFLICT',
      reason: first.reason ?? 'refused',
    };
  }
  return { ok: true, replayed: true, answer: acceptedAnswer(first, first.outcome) };
}

/** Every refused callback leaves the same audit entry, for an operator to check what custody claimed. */
async function auditRefusal(
  tx: Tx,
  context: ServiceContext,
  webhookId: string,
  callback: CustodyCallback,
  reason: string,
  extra: JsonObject,
): Promise<void> {
  await audit(tx, context, {
    actor: ACTOR,
    action: 'custody.callback_refused',
    subject: `withdrawal:${callback.withdrawal_id}`,
    data: { webhook_id: webhookId, status: callback.status, txid: callback.txid ?? null, reason, ...extra },
  });
}
