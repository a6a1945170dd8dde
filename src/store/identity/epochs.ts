import { sql } from 'kysely';
import { compiledOnce, rowsOf } from '../compiled-query.ts';
import type { MfaMethod, SecurityEpochsTable } from '../schema-identity.ts';
import type { Tx } from '../transaction.ts';

export type SecurityEpochs = Readonly<Omit<SecurityEpochsTable, 'id'>>;

export async function readEpochs(tx: Tx): Promise<SecurityEpochs> {
  const [row] = await rowsOf(tx, epochsQuery(tx));
  if (row === undefined) throw new Error('the security epochs row is missing');
  return row;
}

/** readEpochs' statement, for a caller that batches it (store/transaction.ts `together`). */
export function epochsQuery(tx: Tx) {
  return selectEpochs.statement(tx);
}

const selectEpochs = compiledOnce(0, (tx: Tx) =>
  tx
    .selectFrom('security_epochs')
    .select(['session_epoch', 'mfa_epoch', 'totp_epoch', 'passkey_epoch', 'recovery_epoch'])
    .where('id', '=', 1),
);

const METHOD_COLUMN = {
  totp: 'totp_epoch',
  passkey: 'passkey_epoch',
  recovery: 'recovery_epoch',
} as const satisfies Record<MfaMethod, keyof SecurityEpochs>;

export function methodEpoch(epochs: SecurityEpochs, method: MfaMethod): number {
  return epochs[METHOD_COLUMN[method]];
}

/** Every customer session everywhere ends: one row, one increment, whatever the number of accounts. */
export async function bumpGlobalSessionEpoch(tx: Tx): Promise<number> {
  await tx
    .updateTable('security_epochs')
    .set({ session_epoch: sql`session_epoch + 1` })
    .where('id', '=', 1)
    .execute();
  return (await readEpochs(tx)).session_epoch;
}

/** Every customer second factor (or every one of one method) stops counting. */
export async function bumpGlobalMfaEpoch(tx: Tx, method: MfaMethod | undefined): Promise<SecurityEpochs> {
  const column = method === undefined ? 'mfa_epoch' : METHOD_COLUMN[method];
  await tx
    .updateTable('security_epochs')
    .set({ [column]: sql`${sql.ref(column)} + 1` })
    .where('id', '=', 1)
    .execute();
  return readEpochs(tx);
}
