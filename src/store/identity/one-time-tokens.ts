import { hashOpaqueToken, isWellFormedToken, newOpaqueToken } from '../../core/identity/opaque-token.ts';
import { newId } from '../../core/ids.ts';
import { compiledInsert } from '../compiled-query.ts';
import type { OneTimeTokensTable } from '../schema-identity.ts';
import { type Tx, writeBehind } from '../transaction.ts';

export type OneTimeToken = Readonly<OneTimeTokensTable>;

/** Issues a single-use secret; only its hash is stored. Returns the secret, shown once. */
export async function issueOneTimeToken(
  tx: Tx,
  input: { principalId: string; purpose: string; data: Record<string, unknown>; now: Date; ttlMs: number },
): Promise<{ token: string; row: OneTimeToken }> {
  const issued = newOneTimeToken(input);
  await insertToken.run(tx, issued.row);
  return issued;
}

/** Every column of a one-time token row, in the order the insert names them. */
export const ONE_TIME_TOKEN_COLUMNS = [
  'id',
  'principal_id',
  'purpose',
  'token_hash',
  'data',
  'created_at',
  'expires_at',
  'used_at',
] as const;
const insertToken = compiledInsert('one_time_tokens', ONE_TIME_TOKEN_COLUMNS);

/** Stores a token's row (newOneTimeToken); it leaves with the transaction's next statement (writeBehind). */
export async function storeOneTimeToken(tx: Tx, row: OneTimeTokensTable): Promise<void> {
  await writeBehind(tx, insertToken.statement(tx, row));
}

/** A fresh token and the row that stores its hash, for a caller that batches the insert. */
export function newOneTimeToken(input: {
  principalId: string;
  purpose: string;
  data: Record<string, unknown>;
  now: Date;
  ttlMs: number;
}): { token: string; row: OneTimeTokensTable } {
  const token = newOpaqueToken();
  const row: OneTimeTokensTable = {
    id: newId(),
    principal_id: input.principalId,
    purpose: input.purpose,
    token_hash: hashOpaqueToken(token),
    data: JSON.stringify(input.data),
    created_at: input.now.toISOString(),
    expires_at: new Date(input.now.getTime() + input.ttlMs).toISOString(),
    used_at: null,
  };
  return { token, row };
}

export type ConsumeResult =
  | { readonly ok: true; readonly row: OneTimeToken }
  | {
      readonly ok: false;
      readonly reason: 'unknown' | 'wrong_purpose' | 'expired' | 'used';
      readonly row?: OneTimeToken;
    };

/**
 * Marks a token used exactly once. The conditional UPDATE (used_at is null) makes a race between two
 * presentations of the same token end with one winner on both engines.
 */
export async function consumeOneTimeToken(
  tx: Tx,
  token: string,
  purpose: string,
  now: Date,
): Promise<ConsumeResult> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'unknown' };
  const row = await tx
    .selectFrom('one_time_tokens')
    .selectAll()
    .where('token_hash', '=', hashOpaqueToken(token))
    .executeTakeFirst();
  if (row === undefined) return { ok: false, reason: 'unknown' };
  if (row.purpose !== purpose) return { ok: false, reason: 'wrong_purpose', row };
  if (row.used_at !== null) return { ok: false, reason: 'used', row };
  if (row.expires_at <= now.toISOString()) return { ok: false, reason: 'expired', row };
  const result = await tx
    .updateTable('one_time_tokens')
    .set({ used_at: now.toISOString() })
    .where('id', '=', row.id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return { ok: false, reason: 'used', row };
  return { ok: true, row: { ...row, used_at: now.toISOString() } };
}

/** Spends every unused token of one purpose for one principal, so only a token issued afterwards works. */
export async function revokeOneTimeTokens(
  tx: Tx,
  principalId: string,
  purpose: string,
  now: Date,
): Promise<number> {
  const result = await tx
    .updateTable('one_time_tokens')
    .set({ used_at: now.toISOString() })
    .where('principal_id', '=', principalId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
