import { assert } from '../../core/errors.ts';
import type { LedgerAccountsTable, LedgerTransfersTable } from '../schema.ts';
import type { Account, Transfer } from './types.ts';

const DIGITS = /^(0|[1-9][0-9]{0,39})$/;

/** Both engines hand amounts back as decimal strings; anything else means a corrupted row. */
export function amountFromRow(value: string): bigint {
  const text = String(value);
  assert(DIGITS.test(text), `ledger amount "${text}" is not a canonical decimal`);
  return BigInt(text);
}

export function amountToRow(value: bigint): string {
  assert(value >= 0n, 'ledger amounts and totals are never negative');
  return value.toString();
}

export function accountFromRow(row: LedgerAccountsTable): Account {
  return Object.freeze({
    id: row.id,
    ownerId: row.owner_id,
    asset: row.asset,
    kind: row.kind,
    debitsMustNotExceedCredits: Number(row.debits_must_not_exceed_credits) === 1,
    postedDebits: amountFromRow(row.posted_debits),
    postedCredits: amountFromRow(row.posted_credits),
    pendingDebits: amountFromRow(row.pending_debits),
    pendingCredits: amountFromRow(row.pending_credits),
    createdAt: new Date(row.created_at),
  });
}

export function transferFromRow(row: LedgerTransfersTable): Transfer {
  return Object.freeze({
    id: row.id,
    kind: row.kind,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    asset: row.asset,
    amount: amountFromRow(row.amount),
    pendingId: row.pending_id,
    code: row.code,
    reference: row.reference,
    createdAt: new Date(row.created_at),
  });
}
