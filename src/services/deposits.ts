import { DomainError, invalidInput } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { assetOnNetwork, formatAmount, getAsset, parseAmount } from '../core/money/index.ts';
import { isNetwork, type Network } from '../core/networks.ts';
import { findDepositByOutput, insertDeposit } from '../store/deposits.ts';
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

/**
 * Credits a deposit seen on chain, idempotent by (network, txid, output index): the same output again returns
 * the first credit; the same output with other details is a conflict, never a second credit.
 */
export async function creditDeposit(context: ServiceContext, actor: OperatorActor, input: DepositInput) {
  authorize(actor, 'deposit.credit');
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
  const txid = input.txid;
  if (
    typeof input.output_index !== 'number' ||
    !Number.isInteger(input.output_index) ||
    input.output_index < 0 ||
    input.output_index > 1_000_000
  ) {
    throw invalidInput('output_index', 'must be an integer 0..1000000');
  }
  const outputIndex = input.output_index;
  const accountId = input.account_id;
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const principal = await findPrincipal(tx, accountId);
    if (principal === undefined || principal.kind !== 'customer')
      throw invalidInput('account_id', 'is not a customer account');
    const existing = await findDepositByOutput(tx, network, txid, outputIndex);
    if (existing !== undefined) {
      if (
        existing.account_id !== accountId ||
        existing.asset !== asset.code ||
        BigInt(existing.amount) !== amount
      ) {
        throw new DomainError('CONFLICT', 'this chain output was already credited with other details', {
          field: 'txid',
        });
      }
      return { id: existing.id, credited: false, amount: formatAmount(amount, asset) };
    }
    const id = newId();
    const transferId = `deposit:${network}:${txid}:${outputIndex}`;
    const customer = await customerAccount(tx, accountId, asset.code, now);
    const custody = await custodyAccount(tx, asset.code, now);
    await transfer(
      tx,
      {
        id: transferId,
        debitAccountId: custody.id,
        creditAccountId: customer.id,
        asset: asset.code,
        amount,
        code: 'deposit',
        reference: `${network}:${txid}:${outputIndex}`,
      },
      now,
    );
    await insertDeposit(tx, {
      id,
      network,
      txid,
      output_index: outputIndex,
      account_id: accountId,
      asset: asset.code,
      amount: amount.toString(),
      transfer_id: transferId,
      created_at: now.toISOString(),
    });
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'deposit.credited',
      subject: `customer:${accountId}`,
      data: { asset: asset.code, network, amount: amount.toString(), txid, output_index: outputIndex },
    });
    return { id, credited: true, amount: formatAmount(amount, asset) };
  });
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
