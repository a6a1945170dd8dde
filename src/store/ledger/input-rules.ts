import { invalidInput } from '../../core/errors.ts';
import type { OpenAccountInput, ResolveHoldInput, TransferInput } from './types.ts';

/** NUMERIC(40,0) holds at most 40 digits; every amount and every running total stays below this. */
export const AMOUNT_LIMIT = 10n ** 40n;
export const ID_MAX_LENGTH = 128;
export const CODE_MAX_LENGTH = 64;
export const REFERENCE_MAX_LENGTH = 256;

const ASSET_PATTERN = /^[A-Z0-9]{2,16}$/;
const KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const CODE_PATTERN = /^[a-z][a-z0-9_.-]*$/;

function checkText(field: string, value: unknown, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0) throw invalidInput(field, 'is required');
  if (value.length > maxLength) throw invalidInput(field, `is longer than ${maxLength} characters`);
  if (value.trim() !== value) throw invalidInput(field, 'has leading or trailing spaces');
}

function checkAsset(field: string, value: unknown): void {
  if (typeof value !== 'string' || !ASSET_PATTERN.test(value)) {
    throw invalidInput(field, 'must be an asset symbol such as BTC (2-16 of A-Z, 0-9)');
  }
}

function checkCode(value: unknown): void {
  checkText('code', value, CODE_MAX_LENGTH);
  if (!CODE_PATTERN.test(value as string)) throw invalidInput('code', 'must be lower_snake_case');
}

function checkReference(value: unknown): void {
  if (value === undefined || value === null) return;
  checkText('reference', value, REFERENCE_MAX_LENGTH);
}

export function checkOpenAccountInput(input: OpenAccountInput): void {
  checkText('ownerId', input.ownerId, ID_MAX_LENGTH);
  checkAsset('asset', input.asset);
  if (typeof input.kind !== 'string' || !KIND_PATTERN.test(input.kind)) {
    throw invalidInput('kind', 'must be lower_snake_case, at most 32 characters');
  }
  if (typeof input.debitsMustNotExceedCredits !== 'boolean') {
    throw invalidInput('debitsMustNotExceedCredits', 'must be true or false');
  }
}

export function checkTransferInput(input: TransferInput): void {
  checkText('id', input.id, ID_MAX_LENGTH);
  checkText('debitAccountId', input.debitAccountId, ID_MAX_LENGTH);
  checkText('creditAccountId', input.creditAccountId, ID_MAX_LENGTH);
  if (input.debitAccountId === input.creditAccountId) {
    throw invalidInput('creditAccountId', 'must differ from debitAccountId');
  }
  checkAsset('asset', input.asset);
  if (typeof input.amount !== 'bigint') throw invalidInput('amount', 'must be a bigint of base units');
  if (input.amount <= 0n) throw invalidInput('amount', 'must be greater than zero');
  if (input.amount >= AMOUNT_LIMIT) throw invalidInput('amount', 'has more than 40 digits');
  checkCode(input.code);
  checkReference(input.reference);
}

export function checkResolveHoldInput(input: ResolveHoldInput): void {
  checkText('id', input.id, ID_MAX_LENGTH);
  checkText('pendingId', input.pendingId, ID_MAX_LENGTH);
  if (input.id === input.pendingId) throw invalidInput('id', 'must differ from pendingId');
  checkCode(input.code);
  checkReference(input.reference);
}
