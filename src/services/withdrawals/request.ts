import { coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError, invalidInput } from '../../core/errors.ts';
import { assetOnNetwork, getAsset, parseAmount } from '../../core/money/index.ts';
import { isNetwork, NETWORKS, type Network } from '../../core/networks.ts';
import { secureRandomBytes } from '../../core/random.ts';
import { withdrawalDigest } from '../../core/withdrawals/digest.ts';
import { feeFor, withdrawalSummary } from '../../core/withdrawals/fees.ts';
import { requestRefusal, requestWarnings } from '../../core/withdrawals/request-checks.ts';
import { readRequestSubject } from '../../store/withdrawal-request.ts';
import { insertWithdrawal, newWithdrawalId } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';
import { type Authenticated, inRequestTransaction } from '../identity/sessions.ts';
import { viewWithdrawal } from './view.ts';

export interface WithdrawalRequest {
  readonly asset?: unknown;
  readonly network?: unknown;
  readonly amount?: unknown;
  readonly destination_id?: unknown;
}

/**
 * A withdrawal starts in awaiting_confirmation with a digest and a summary computed from server state only; the
 * client never supplies the text the customer approves. Nothing is held until a bound proof confirms it.
 */
export async function requestWithdrawal(
  context: ServiceContext,
  auth: Authenticated,
  input: WithdrawalRequest,
  meta: RequestMeta,
) {
  if (typeof input.asset !== 'string') throw invalidInput('asset', 'is required');
  const asset = getAsset(input.asset);
  if (typeof input.network !== 'string' || !isNetwork(input.network))
    throw invalidInput('network', `must be one of ${NETWORKS.join(', ')}`);
  const network: Network = input.network;
  assetOnNetwork(asset.code, network);
  if (typeof input.amount !== 'string') throw invalidInput('amount', 'must be a decimal string');
  const amount = parseAmount(input.amount, asset);
  if (typeof input.destination_id !== 'string' || input.destination_id.length > 64)
    throw invalidInput('destination_id', 'must be an address-book entry id');
  const destinationId = input.destination_id;
  const fee = feeFor(context.withdrawals.fees, asset.code, network);
  if (fee === undefined)
    throw invalidInput('network', `withdrawals of ${asset.code} on ${network} are not offered`);

  return inRequestTransaction(context, auth, async (tx) => {
    const now = context.clock.now();
    const subject = await readRequestSubject(
      tx,
      { accountId: auth.principalId, destinationId, asset: asset.code, network },
      now,
    );
    const { entry } = subject;
    if (entry === undefined || entry.removedAt !== null)
      throw invalidInput('destination_id', 'is not an entry of your address book');
    if (entry.network !== network)
      throw invalidInput('destination_id', `the entry is on ${entry.network}, not ${network}`);
    // A withdrawal that could never pass is refused before the customer spends a code on it.
    const check = {
      asset,
      amount,
      fee,
      available: subject.available,
      destinationUsableFrom: coolingPeriodEndsAt(
        entry.createdAt,
        entry.coolingMs,
        coolingMsOf(subject.cooling),
      ),
      halt: subject.halt,
      now,
    };
    const refusal = requestRefusal(check);
    if (refusal !== undefined) throw refusal;
    const id = newWithdrawalId();
    const nonce = secureRandomBytes(16).toString('base64url');
    const digest = withdrawalDigest({
      withdrawal_id: id,
      account_id: auth.principalId,
      asset: asset.code,
      network,
      amount: amount.toString(),
      fee: fee.toString(),
      destination: entry.address,
      nonce,
    });
    const row = {
      id,
      account_id: auth.principalId,
      asset: asset.code,
      network,
      amount: amount.toString(),
      fee: fee.toString(),
      destination_id: entry.id,
      destination_address: entry.address,
      destination_label: entry.label,
      nonce,
      digest,
      summary: withdrawalSummary({
        asset: asset.code,
        amount,
        fee,
        destination: entry.address,
        label: entry.label,
      }),
      state: 'awaiting_confirmation' as const,
      proof_id: null,
      confirm_failures: 0,
      expires_at: new Date(now.getTime() + context.withdrawals.confirmationWindowMs).toISOString(),
      release_after: null,
      time_locked_until: null,
      first_use: 0,
      move_id: null,
      released_at: null,
      usd_value: null,
      usd_price: null,
      usd_price_at: null,
      usd_price_source: null,
      session_id: null,
      device_id: null,
      screening: null,
      attestation: null,
      txid: null,
      reason: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await insertWithdrawal(tx, row, `customer:${auth.principalId}`);
    await audit(tx, context, {
      actor: `customer:${auth.principalId}`,
      action: 'withdrawal.requested',
      subject: `withdrawal:${id}`,
      data: {
        asset: asset.code,
        network,
        amount: row.amount,
        fee: row.fee,
        destination: entry.address,
        digest,
        ip: meta.ip,
      },
    });
    // What will make it wait (a cooling destination, a halt) is said now, with when or why.
    return { ...viewWithdrawal(row), warnings: requestWarnings(check) };
  });
}

export function notFoundWithdrawal(id: string): DomainError {
  return new DomainError('NOT_FOUND', `withdrawal ${id} does not exist`);
}
