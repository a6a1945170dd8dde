import { invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { formatAmount, getAsset, isAssetCode, listAssets, parseAmount } from '../../core/money/index.ts';
import { type Account, availableOf, findAccount, openAccount, transfer } from '../../store/ledger/index.ts';
import { inReadSnapshot, inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { PLATFORM_OWNER } from '../withdrawals/ledger-accounts.ts';

/**
 * The platform treasury: one ledger account per asset that reimbursements are paid from. It never goes below zero
 * (a reimbursement the treasury cannot cover is refused, never booked as an overdraft), and money enters it only by
 * an explicit, audited funding transfer from the platform's own funds (`treasury_funding`, which mirrors money the
 * platform brings in from outside and may go negative, as custody does).
 */
export const TREASURY_KIND = 'treasury';
const FUNDING_KIND = 'treasury_funding';

export function treasuryAccount(tx: Tx, asset: string, at: Date): Promise<Account> {
  return openAccount(
    tx,
    { ownerId: PLATFORM_OWNER, asset, kind: TREASURY_KIND, debitsMustNotExceedCredits: true },
    at,
  );
}

function fundingAccount(tx: Tx, asset: string, at: Date): Promise<Account> {
  return openAccount(
    tx,
    { ownerId: PLATFORM_OWNER, asset, kind: FUNDING_KIND, debitsMustNotExceedCredits: false },
    at,
  );
}

export interface FundTreasuryInput {
  readonly asset?: unknown;
  readonly amount?: unknown;
  readonly reason?: unknown;
}

/** Puts `amount` of `asset` into the treasury (admin), audited with who, why and the transfer id. */
export async function fundTreasury(context: ServiceContext, actor: OperatorActor, input: FundTreasuryInput) {
  authorize(actor, 'treasury.fund');
  if (!isAssetCode(input.asset))
    throw invalidInput('asset', 'must be a known asset code (BTC, ETH, USDC, LTC)');
  const asset = getAsset(input.asset);
  if (typeof input.amount !== 'string') throw invalidInput('amount', 'must be a decimal string');
  const amount = parseAmount(input.amount, asset);
  if (typeof input.reason !== 'string' || input.reason.trim().length < 3 || input.reason.length > 500) {
    throw invalidInput('reason', 'must be 3..500 characters');
  }
  const reason = input.reason;
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now();
    const treasury = await treasuryAccount(tx, asset.code, now);
    const funding = await fundingAccount(tx, asset.code, now);
    const transferId = `treasury-fund:${newId()}`;
    await transfer(
      tx,
      {
        id: transferId,
        debitAccountId: funding.id,
        creditAccountId: treasury.id,
        asset: asset.code,
        amount,
        code: 'treasury_funding',
        reference: reason.slice(0, 256),
      },
      now,
    );
    const after = await findAccount(tx, PLATFORM_OWNER, asset.code, TREASURY_KIND);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'treasury.funded',
      subject: `treasury:${asset.code}`,
      data: { asset: asset.code, amount: amount.toString(), transfer_id: transferId, reason },
    });
    return {
      transfer_id: transferId,
      asset: asset.code,
      amount: formatAmount(amount, asset),
      available: formatAmount(after === undefined ? 0n : availableOf(after), asset),
    };
  });
}

/** The treasury's available balance in every asset (zero where it was never funded). */
export async function treasuryBalances(context: ServiceContext, actor: OperatorActor) {
  authorize(actor, 'treasury.read');
  return inReadSnapshot(context.database, async (tx) => {
    const balances: { asset: string; available: string }[] = [];
    for (const asset of listAssets()) {
      const account = await findAccount(tx, PLATFORM_OWNER, asset.code, TREASURY_KIND);
      balances.push({
        asset: asset.code,
        available: formatAmount(account === undefined ? 0n : availableOf(account), asset),
      });
    }
    return { balances };
  });
}
