import { DomainError, invalidInput } from '../core/errors.ts';
import { isUuid, newId } from '../core/ids.ts';
import { assetOnNetwork, formatAmount, getAsset, parseAmount } from '../core/money/index.ts';
import { isNetwork, type Network } from '../core/networks.ts';
import {
  approveDepositRequest,
  findDepositByOutput,
  findDepositRequestByOutput,
  insertDeposit,
  insertDepositRequest,
  lockDepositRequest,
  pendingDepositRequests,
  rejectDepositRequest,
} from '../store/deposits.ts';
import { findPrincipal } from '../store/identity/principals.ts';
import { ownerBalances, transfer } from '../store/ledger/index.ts';
import { isUniqueViolation } from '../store/review-approvals.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';
import { operatorEmails } from './identity/operator-emails.ts';
import { notifyPrincipal } from './notify.ts';
import { custodyAccount, customerAccount } from './withdrawals/ledger-accounts.ts';

export interface DepositInput {
  readonly account_id?: unknown;
  readonly asset?: unknown;
  readonly network?: unknown;
  readonly amount?: unknown;
  readonly txid?: unknown;
  readonly output_index?: unknown;
}

/** A chain output as an operator enters it, checked: everything else is a 400 naming the field. */
function depositTerms(input: DepositInput) {
  if (typeof input.account_id !== 'string' || input.account_id.length > 64)
    throw invalidInput('account_id', 'is required');
  if (typeof input.asset !== 'string') throw invalidInput('asset', 'is required');
  const asset = getAsset(input.asset);
  if (typeof input.network !== 'string' || !isNetwork(input.network))
    throw invalidInput('network', 'is not a known network');
  const network: Network = input.network;
  assetOnNetwork(asset.code, network);
  if (typeof input.amount !== 'string') throw invalidInput('amount', 'must be a decimal string');
  const amount = parseAmount(input.amount, asset);
  if (typeof input.txid !== 'string' || !/^[A-Za-z0-9]{8,128}$/.test(input.txid))
    throw invalidInput('txid', 'must be 8..128 letters or digits');
  if (
    typeof input.output_index !== 'number' ||
    !Number.isInteger(input.output_index) ||
    input.output_index < 0 ||
    input.output_index > 1_000_000
  ) {
    throw invalidInput('output_index', 'must be an integer 0..1000000');
  }
  return {
    accountId: input.account_id,
    asset,
    network,
    amount,
    txid: input.txid,
    outputIndex: input.output_index,
  };
}

type DepositState = 'pending_approval' | 'credited' | 'rejected';

/** What the API shows of a deposit, whether it is still a request or was credited before requests existed. */
interface DepositLike {
  readonly id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  readonly txid: string;
  readonly output_index: number;
  readonly amount: string;
  readonly recorded_by: string | null;
  readonly recorded_at?: string | null;
  readonly approved_by: string | null;
  readonly approved_at?: string | null;
  readonly rejected_by?: string | null;
  readonly rejected_at?: string | null;
  readonly rejection_reason?: string | null;
}

function stateOf(row: DepositLike): DepositState {
  if (row.rejected_at !== null && row.rejected_at !== undefined) return 'rejected';
  return row.approved_by === null ? 'pending_approval' : 'credited';
}

/** A deposit as the API answers it: `credited` says whether this call credited it. */
function depositView(row: DepositLike, credited = false) {
  return {
    id: row.id,
    state: stateOf(row),
    credited,
    account_id: row.account_id,
    asset: row.asset,
    network: row.network,
    txid: row.txid,
    output_index: Number(row.output_index),
    amount: formatAmount(BigInt(row.amount), getAsset(row.asset)),
    recorded_by: row.recorded_by,
    recorded_at: row.recorded_at ?? null,
    approved_by: row.approved_by,
    approved_at: row.approved_at ?? null,
    rejected_by: row.rejected_by ?? null,
    rejected_at: row.rejected_at ?? null,
    rejection_reason: row.rejection_reason ?? null,
  };
}

function sameOutputOtherDetails(existing: DepositLike): DomainError {
  return new DomainError('CONFLICT', 'this chain output was already recorded with other details', {
    field: 'txid',
    details: { deposit_id: existing.id, state: stateOf(existing), recorded_by: existing.recorded_by },
  });
}

/**
 * Records a deposit seen on chain (incident commander or admin), to be credited once a second operator approves it
 * (approveDeposit): one operator alone never credits a balance. Idempotent by (network, txid, output index): the
 * same output again answers what was recorded (pending or credited); the same output with other details is a 409
 * CONFLICT naming the record in the way (reject it if it is wrong), and records nothing. Audited.
 */
export async function recordDeposit(context: ServiceContext, actor: OperatorActor, input: DepositInput) {
  authorize(actor, 'deposit.credit');
  const terms = depositTerms(input);
  const record = () =>
    inTransaction(context.database, async (tx) => {
      const now = context.clock.now().toISOString();
      const principal = await findPrincipal(tx, terms.accountId);
      if (principal === undefined || principal.kind !== 'customer')
        throw invalidInput('account_id', 'is not a customer account');
      const existing =
        (await findDepositRequestByOutput(tx, terms.network, terms.txid, terms.outputIndex)) ??
        // Credited before deposits needed a second operator (migration 0060): that credit stands, once.
        (await findDepositByOutput(tx, terms.network, terms.txid, terms.outputIndex).then((row) =>
          row === undefined
            ? undefined
            : { ...row, recorded_at: row.created_at, approved_at: row.created_at },
        ));
      if (existing !== undefined) {
        const same =
          existing.account_id === terms.accountId &&
          existing.asset === terms.asset.code &&
          BigInt(existing.amount) === terms.amount;
        if (!same) throw sameOutputOtherDetails(existing);
        return depositView(existing);
      }
      const row = {
        id: newId(),
        network: terms.network,
        txid: terms.txid,
        output_index: terms.outputIndex,
        account_id: terms.accountId,
        asset: terms.asset.code,
        amount: terms.amount.toString(),
        recorded_by: actor.id,
        recorded_at: now,
        approved_by: null,
        approved_at: null,
        deposit_id: null,
        rejected_by: null,
        rejected_at: null,
        rejection_reason: null,
      };
      await insertDepositRequest(tx, row);
      await audit(tx, context, {
        actor: actorName(actor),
        action: 'deposit.recorded',
        subject: `customer:${terms.accountId}`,
        data: {
          deposit_id: row.id,
          asset: row.asset,
          network: row.network,
          amount: row.amount,
          txid: row.txid,
          output_index: row.output_index,
        },
      });
      return depositView(row);
    });
  try {
    return await record();
  } catch (error) {
    // The same output recorded at the same moment by another request (PostgreSQL): answered as if it came second.
    if (isUniqueViolation(error)) return record();
    throw error;
  }
}

/** A request by its id (a malformed one is a 400 on `id`, an unknown one a 404), locked for its decision. */
async function decidable(context: ServiceContext, tx: Tx, id: unknown) {
  if (typeof id !== 'string' || !isUuid(id)) throw invalidInput('id', 'is not a deposit id');
  const request = await lockDepositRequest(context.database, tx, id);
  if (request === undefined) throw new DomainError('NOT_FOUND', `no deposit ${id} was recorded`);
  return request;
}

/**
 * Approves a recorded deposit and credits it (incident commander or admin), never by the operator who recorded it
 * (409 SAME_OPERATOR; the database refuses it too): the customer's balance gains the amount, from the platform's
 * custody account, in the same transaction. Approving a credited deposit again answers it with `credited: false`;
 * a rejected one is a 409 WRONG_STATE. An unknown id is a 404. Audited.
 */
export async function approveDeposit(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'deposit.credit');
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const request = await decidable(context, tx, id);
    if (request.rejected_at !== null)
      throw new DomainError('WRONG_STATE', `deposit ${request.id} was rejected: it is never credited`, {
        details: { state: 'rejected' },
      });
    if (request.approved_by !== null) return depositView(request);
    if (request.recorded_by === actor.id) {
      throw new DomainError(
        'SAME_OPERATOR',
        'a deposit is approved by a second operator, not the one who recorded it',
        {
          details: { recorded_by: request.recorded_by },
        },
      );
    }
    const at = now.toISOString();
    if (
      !(await approveDepositRequest(tx, request.id, {
        approvedBy: actor.id,
        approvedAt: at,
        depositId: request.id,
      }))
    )
      throw new DomainError(
        'ALREADY_RESOLVED',
        `deposit ${request.id} was decided by another operator just now`,
      );
    const asset = getAsset(request.asset);
    const transferId = `deposit:${request.network}:${request.txid}:${request.output_index}`;
    const customer = await customerAccount(tx, request.account_id, asset.code, now);
    const custody = await custodyAccount(tx, asset.code, now);
    await transfer(
      tx,
      {
        id: transferId,
        debitAccountId: custody.id,
        creditAccountId: customer.id,
        asset: asset.code,
        amount: BigInt(request.amount),
        code: 'deposit',
        reference: `${request.network}:${request.txid}:${request.output_index}`,
      },
      now,
    );
    await insertDeposit(tx, {
      id: request.id,
      network: request.network,
      txid: request.txid,
      output_index: request.output_index,
      account_id: request.account_id,
      asset: request.asset,
      amount: request.amount,
      transfer_id: transferId,
      created_at: at,
      recorded_by: request.recorded_by,
      approved_by: actor.id,
    });
    const owner = await findPrincipal(tx, request.account_id);
    if (owner !== undefined) {
      const amount = formatAmount(BigInt(request.amount), asset);
      // Not a security notice: the customer may turn it off (OPTIONAL_EVENTS).
      await notifyPrincipal(tx, context, owner, {
        event: 'deposit.credited',
        headline: `${amount} ${asset.code} was credited to your account`,
        lines: [
          `Deposit on ${request.network}: transaction ${request.txid}, output ${request.output_index}.`,
        ],
        security: false,
      });
    }
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'deposit.credited',
      subject: `customer:${request.account_id}`,
      data: {
        deposit_id: request.id,
        asset: request.asset,
        network: request.network,
        amount: request.amount,
        txid: request.txid,
        output_index: request.output_index,
        recorded_by: request.recorded_by,
      },
    });
    return depositView({ ...request, approved_by: actor.id, approved_at: at }, true);
  });
}

/**
 * Rejects a recorded deposit that must not be credited (a mistyped or made-up entry), with a reason (3..500
 * characters): incident commander or admin, its recorder included. Nothing is credited, and the chain output may
 * be recorded again. Rejecting it again answers it; a credited one is a 409 ALREADY_RESOLVED. Audited.
 */
export async function rejectDeposit(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  input: { readonly reason?: unknown },
) {
  authorize(actor, 'deposit.credit');
  const reason = input.reason;
  if (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 500)
    throw invalidInput('reason', 'must be 3..500 characters');
  return inTransaction(context.database, async (tx) => {
    const request = await decidable(context, tx, id);
    if (request.rejected_at !== null) return depositView(request);
    if (request.approved_by !== null)
      throw new DomainError('ALREADY_RESOLVED', `deposit ${request.id} was already credited`, {
        details: { approved_by: request.approved_by },
      });
    const at = context.clock.now().toISOString();
    if (!(await rejectDepositRequest(tx, request.id, { rejectedBy: actor.id, rejectedAt: at, reason })))
      throw new DomainError(
        'ALREADY_RESOLVED',
        `deposit ${request.id} was decided by another operator just now`,
      );
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'deposit.rejected',
      subject: `customer:${request.account_id}`,
      data: { deposit_id: request.id, reason, recorded_by: request.recorded_by },
    });
    return depositView({ ...request, rejected_by: actor.id, rejected_at: at, rejection_reason: reason });
  });
}

/** Deposits awaiting a decision, oldest first (`limit` 1..500, default 100), for any operator role. */
export async function depositsAwaitingApproval(
  context: ServiceContext,
  actor: OperatorActor,
  input: { readonly limit?: unknown } = {},
) {
  authorize(actor, 'deposit.view');
  const raw = input.limit ?? 100;
  const limit = typeof raw === 'string' && /^[0-9]{1,3}$/.test(raw) ? Number(raw) : raw;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 500)
    throw invalidInput('limit', 'must be an integer 1..500');
  const { requests, more } = await pendingDepositRequests(context.database, limit);
  const emailOf = await operatorEmails(
    context,
    requests.map((row) => `operator:${row.recorded_by}`),
  );
  return {
    deposits: requests.map((row) => ({
      ...depositView(row),
      recorded_by_email: emailOf(`operator:${row.recorded_by}`),
    })),
    more,
  };
}

/**
 * A deposit recorded by one operator and approved by another, in turn: how the demo, the replay's population and the
 * benchmarks fund their customers through the same two steps an operator takes.
 */
export async function depositApprovedBy(
  context: ServiceContext,
  operators: { readonly recorder: OperatorActor; readonly approver: OperatorActor },
  input: DepositInput,
) {
  const recorded = await recordDeposit(context, operators.recorder, input);
  return recorded.state === 'credited' ? recorded : approveDeposit(context, operators.approver, recorded.id);
}

/** A customer's balances, as decimal strings. */
export async function balancesOf(context: ServiceContext, accountId: string) {
  const balances = await ownerBalances(context.database, accountId, 'customer', 100);
  return {
    balances: balances.map((balance) => {
      const asset = getAsset(balance.asset);
      return {
        asset: balance.asset,
        available: formatAmount(balance.available, asset),
        held: formatAmount(balance.pendingDebits, asset),
      };
    }),
  };
}
