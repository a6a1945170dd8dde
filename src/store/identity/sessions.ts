import { newId } from '../../core/ids.ts';
import { compiledOnce } from '../compiled-query.ts';
import type { OperatorRole, PrincipalKind, SessionsTable } from '../schema-identity.ts';
import { type Queryable, queryable, type Tx, writeBehind } from '../transaction.ts';

export type SessionRow = Readonly<SessionsTable>;

export async function insertSession(
  tx: Tx,
  input: Omit<SessionsTable, 'id' | 'ended_at' | 'ended_reason' | 'last_seen_at'>,
): Promise<SessionRow> {
  const row: SessionsTable = {
    ...input,
    id: newId(),
    last_seen_at: input.created_at,
    ended_at: null,
    ended_reason: null,
  };
  await tx.insertInto('sessions').values(row).execute();
  return row;
}

/** Everything needed to decide whether a presented session token is good, in one query. */
export interface SessionLookup {
  readonly id: string;
  readonly principal_id: string;
  readonly kind: PrincipalKind;
  readonly role: OperatorRole | null;
  readonly aal: number;
  readonly csrf_hash: string;
  readonly created_at: string;
  readonly last_seen_at: string;
  readonly ended_at: string | null;
  readonly session_global_epoch: number;
  readonly session_principal_epoch: number;
  readonly current_global_epoch: number;
  readonly current_principal_epoch: number;
  readonly locked_at: string | null;
  readonly device_id: string | null;
}

export async function lookupSessionByTokenHash(
  on: Queryable,
  tokenHash: string,
): Promise<SessionLookup | undefined> {
  const tx = queryable(on);
  return (await selectSession(tx, tokenHash)).rows[0];
}

// Every authenticated request runs it: built and compiled once per engine.
const selectSession = compiledOnce(1, (tx: Tx, _engine, tokenHash: string) =>
  tx
    .selectFrom('sessions as s')
    .innerJoin('principals as p', 'p.id', 's.principal_id')
    .innerJoin('security_epochs as e', (join) => join.onTrue())
    .select([
      's.id',
      's.principal_id',
      'p.kind',
      'p.role',
      's.aal',
      's.csrf_hash',
      's.created_at',
      's.last_seen_at',
      's.ended_at',
      's.global_epoch as session_global_epoch',
      's.principal_epoch as session_principal_epoch',
      'e.session_epoch as current_global_epoch',
      'p.session_epoch as current_principal_epoch',
      'p.locked_at',
      's.device_id',
    ])
    .where('s.token_hash', '=', tokenHash),
);

/** Records that a session was seen at `at`; inside a transaction it leaves with the next statement (writeBehind). */
const touchStatement = compiledOnce(2, (tx: Tx, _engine, id: string, at: string) =>
  tx.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', id),
);

export async function touchSession(tx: Tx, id: string, at: string): Promise<void> {
  await writeBehind(tx, touchStatement.statement(tx, id, at));
}

export async function raiseSessionAal(tx: Tx, id: string, aal: number): Promise<void> {
  await tx.updateTable('sessions').set({ aal }).where('id', '=', id).where('aal', '<', aal).execute();
}

/** Whether session `id` belongs to `principalId` (ended or not). */
export async function isSessionOf(tx: Tx, id: string, principalId: string): Promise<boolean> {
  const own = await tx
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', id)
    .where('principal_id', '=', principalId)
    .executeTakeFirst();
  return own !== undefined;
}

export async function endSession(tx: Tx, id: string, at: string, reason: string): Promise<boolean> {
  const result = await tx
    .updateTable('sessions')
    .set({ ended_at: at, ended_reason: reason })
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function endOtherSessions(
  tx: Tx,
  principalId: string,
  keepId: string,
  at: string,
): Promise<number> {
  const result = await tx
    .updateTable('sessions')
    .set({ ended_at: at, ended_reason: 'ended_by_customer' })
    .where('principal_id', '=', principalId)
    .where('id', '<>', keepId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listSessions(on: Queryable, principalId: string, limit: number): Promise<SessionRow[]> {
  const tx = queryable(on);
  return tx
    .selectFrom('sessions')
    .selectAll()
    .where('principal_id', '=', principalId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}
