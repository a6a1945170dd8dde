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
} from '../store/deposits.ts';
import { findPrincipal } from '../store/identity/principals.ts';
import { ownerBalances, transfer } from '../store/ledger/index.ts';
import { inTransaction } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import { actorName, authorize, type OperatorActor } from './identity/acting-operator.ts';
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

type DepositState = 'pending_approval' | 'credited';

/** A deposit as the API answers it: `credited` says whether this call credited it. */
function depositView(
  row: {
    id: string;
    account_id: string;
    asset: string;
    network: string;
    txid: string;
    output_index: number;
    amount: string;
    recorded_by: string | null;
    recorded_at?: string | null;
    approved_by: string | null;
    approved_at?: string | null;
  },
  state: DepositState,
  credited: boolean,
) {
  return {
    id: row.id,
    state,
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
  };
}

const SAME_OUTPUT_OTHER_DETAILS = 'this chain output was already recorded with other details';

/**
 * Records a deposit seen on chain (incident commander or admin), to be credited once a second operator approves it
 * (approveDeposit): one operator alone never credits a balance. Idempotent by (network, txid, output index): the
 * same output again answers what was recorded (pending or credited); the same output with other details is a 409
 * CONFLICT and records nothing. Audited.
 */
export async function recordDeposit(context: ServiceContext, actor: OperatorActor, input: DepositInput) {
  authorize(actor, 'deposit.credit');
  const terms = depositTerms(input);
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now().toISOString();
    const principal = await findPrincipal(tx, terms.accountId);
    if (principal === undefined || principal.kind !== 'customer')
      throw invalidInput('account_id', 'is not a customer account');
    const sameTerms = (row: { account_id: string; asset: string; amount: string }) =>
      row.account_id === terms.accountId &&
      row.asset === terms.asset.code &&
      BigInt(row.amount) === terms.amount;
    const requested = await findDepositRequestByOutput(tx, terms.network, terms.txid, terms.outputIndex);
    if (requested !== undefined) {
      if (!sameTerms(requested))
        throw new DomainError('CONFLICT', SAME_OUTPUT_OTHER_DETAILS, { field: 'txid' });
      return depositView(requested, requested.approved_by === null ? 'pending_approval' : 'credited', false);
    }
    // Credited before deposits needed a second operator (migration 0060): that credit stands, once.
    const credited = await findDepositByOutput(tx, terms.network, terms.txid, terms.outputIndex);
    if (credited !== undefined) {
      if (!sameTerms(credited))
        throw new DomainError('CONFLICT', SAME_OUTPUT_OTHER_DETAILS, { field: 'txid' });
      return depositView({ ...credited, recorded_at: credited.created_at }, 'credited', false);
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
    return depositView(row, 'pending_approval', false);
  });
}

/**
 * Approves a recorded deposit and credits it (incident commander or admin), never by the operator who recorded it
 * (409 SAME_OPERATOR; the database refuses it too): the customer's balance gains the amount, from the platform's
 * custody account, in the same transaction. Approving a credited deposit again answers it with `credited: false`.
 * An unknown id is a 404. Audited.
 */
export async function approveDeposit(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'deposit.credit');
  if (typeof id !== 'string' || !isUuid(id)) throw invalidInput('id', 'is not a deposit id');
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const request = await lockDepositRequest(context.database, tx, id);
    if (request === undefined) throw new DomainError('NOT_FOUND', `no deposit ${id} was recorded`);
    if (request.approved_by !== null) return depositView(request, 'credited', false);
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
    if (!(await approveDepositRequest(tx, id, { approvedBy: actor.id, approvedAt: at, depositId: id }))) {
      throw new DomainError('ALREADY_RESOLVED', `deposit ${id} was approved by another operator just now`);
    }
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
      id,
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
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'deposit.credited',
      subject: `customer:${request.account_id}`,
      data: {
        deposit_id: id,
        asset: request.asset,
        network: request.network,
        amount: request.amount,
        txid: request.txid,
        output_index: request.output_index,
        recorded_by: request.recorded_by,
      },
    });
    return depositView({ ...request, approved_by: actor.id, approved_at: at }, 'credited', true);
  });
}

/** Deposits awaiting a second operator, oldest first (`limit` 1..500, default 100), for any operator role. */
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
  return { deposits: requests.map((row) => depositView(row, 'pending_approval', false)), more };
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
