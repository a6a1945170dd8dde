import type { Compilable } from 'kysely';
import { newId } from '../core/ids.ts';
import { HOLDING } from '../core/withdrawals/states.ts';
import { compiledInsert, compiledOnce, rowsOf } from './compiled-query.ts';
import type { Database } from './database.ts';
import type { WithdrawalProofsTable, WithdrawalState, WithdrawalsTable } from './schema-withdrawals.ts';
import { type Tx, together } from './transaction.ts';

export type WithdrawalRow = Readonly<WithdrawalsTable>;

/** The inserts of a new withdrawal and its first event, for the caller to send with its other writes (`together`). */
export function withdrawalInserts(tx: Tx, row: WithdrawalsTable, actor: string) {
  return [
    insertWithdrawalRow.statement(tx, row),
    insertEvent.statement(tx, eventRow(row.id, null, row.state, actor, null, row.created_at)),
  ] as const;
}

/** Every column of a withdrawal row, in the order the insert names them. */
export const WITHDRAWAL_COLUMNS = [
  'id',
  'account_id',
  'asset',
  'network',
  'amount',
  'fee',
  'destination_id',
  'destination_address',
  'destination_label',
  'nonce',
  'digest',
  'summary',
  'state',
  'proof_id',
  'confirm_failures',
  'expires_at',
  'release_after',
  'time_locked_until',
  'first_use',
  'screening',
  'attestation',
  'txid',
  'reason',
  'created_at',
  'updated_at',
] as const;
const insertWithdrawalRow = compiledInsert('withdrawals', WITHDRAWAL_COLUMNS);
export const EVENT_COLUMNS = [
  'id',
  'withdrawal_id',
  'at',
  'from_state',
  'to_state',
  'actor',
  'reason',
] as const;
const insertEvent = compiledInsert('withdrawal_events', EVENT_COLUMNS);
export const PROOF_COLUMNS = [
  'id',
  'withdrawal_id',
  'account_id',
  'digest',
  'method',
  'factor_id',
  'evidence',
  'proof_hash',
  'created_at',
] as const;
const insertProofRow = compiledInsert('withdrawal_proofs', PROOF_COLUMNS);

/** The insert of a withdrawal's proof, for the caller to send with its other statements (`together`). */
export function proofInsert(tx: Tx, row: WithdrawalProofsTable) {
  return insertProofRow.statement(tx, row);
}

/** Reads a withdrawal to change it: on PostgreSQL the row stays locked until the transaction ends. */
export async function lockWithdrawal(
  database: Database,
  tx: Tx,
  id: string,
): Promise<WithdrawalRow | undefined> {
  return (await rowsOf(tx, lockWithdrawalQuery(database, tx, id)))[0];
}

const lockWithdrawalRow = compiledOnce(1, (tx: Tx, engine, id: string) => {
  const query = tx.selectFrom('withdrawals').selectAll().where('id', '=', id);
  return engine === 'postgres' ? query.forUpdate() : query;
});

/** lockWithdrawal's statement, for a caller that batches it (store/transaction.ts `together`). */
export function lockWithdrawalQuery(_database: Database, tx: Tx, id: string) {
  // Row locks exist only on PostgreSQL (lockRows); the compiled shape follows the engine.
  return lockWithdrawalRow.statement(tx, id);
}

/**
 * Moves a withdrawal the caller holds locked from `from` through each step of `path` in one statement, with one
 * event per step, in one round trip: confirmation goes awaiting_confirmation -> screening -> its outcome.
 * Throws (the transaction fails) if the row was not in `from`.
 */
export async function moveWithdrawalThrough(
  tx: Tx,
  id: string,
  from: WithdrawalState,
  path: readonly { to: WithdrawalState; actor: string; reason: string | null }[],
  changes: Partial<Omit<WithdrawalsTable, 'id' | 'state'>>,
  at: string,
  /** The caller's writes that the move needs first (a proof the row will name), sent in the same round trip. */
  before: readonly Compilable<unknown>[] = [],
): Promise<void> {
  const last = path[path.length - 1];
  if (last === undefined) throw new Error('a move has at least one step');
  const steps = path.map((step, i) =>
    eventRow(id, i === 0 ? from : path[i - 1]!.to, step.to, step.actor, step.reason, at),
  );
  const results = await together(
    tx,
    ...before,
    moveStatement(tx, id, from, last.to, changes, at),
    ...steps.map((step) => insertEvent.statement(tx, step)),
  );
  const moved = results[before.length];
  if (moved?.numAffectedRows !== 1n) throw new Error(`withdrawal ${id} was not ${from} when it was moved`);
}

export async function findWithdrawal(tx: Tx, id: string): Promise<WithdrawalRow | undefined> {
  return tx.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Moves a withdrawal from `from` to `to` with its other changes, only if it is still in `from` (a concurrent
 * mover loses), and records the event. Returns false when it was no longer in `from`.
 */
export async function moveWithdrawal(
  tx: Tx,
  id: string,
  from: WithdrawalState,
  to: WithdrawalState,
  changes: Partial<Omit<WithdrawalsTable, 'id' | 'state'>>,
  event: { actor: string; reason: string | null; at: string },
): Promise<boolean> {
  const result = await tx.executeQuery(moveStatement(tx, id, from, to, changes, event.at).compile());
  if (result.numAffectedRows !== 1n) return false;
  await recordEvent(tx, id, from, to, event.actor, event.reason, event.at);
  return true;
}

type Changes = Partial<Omit<WithdrawalsTable, 'id' | 'state'>>;

/** One compiled UPDATE per set of changed columns (the callers' change sets are few and fixed in code). */
const moves = new Map<string, ReturnType<typeof compiledMove>>();

function compiledMove(columns: readonly (keyof Changes & string)[]) {
  return compiledOnce(
    columns.length + 4,
    (tx: Tx, _engine, id: string, from: string, to: string, at: string, ...values: (string | null)[]) =>
      tx
        .updateTable('withdrawals')
        .set({
          ...(Object.fromEntries(columns.map((column, i) => [column, values[i]])) as Changes),
          state: to as WithdrawalState,
          updated_at: at,
        })
        .where('id', '=', id)
        .where('state', '=', from as WithdrawalState),
  );
}

function moveStatement(
  tx: Tx,
  id: string,
  from: WithdrawalState,
  to: WithdrawalState,
  changes: Changes,
  at: string,
) {
  // An undefined change is no change, as in Kysely's set().
  const columns = (Object.keys(changes) as (keyof Changes & string)[])
    .filter((column) => changes[column] !== undefined)
    .sort();
  const key = columns.join(',');
  let move = moves.get(key);
  if (move === undefined) {
    move = compiledMove(columns);
    moves.set(key, move);
  }
  const values = columns.map((column) => (changes[column] ?? null) as string | null);
  return move.statement(tx, id, from, to, at, ...values);
}

export async function recordEvent(
  tx: Tx,
  withdrawalId: string,
  from: WithdrawalState | null,
  to: WithdrawalState,
  actor: string,
  reason: string | null,
  at: string,
): Promise<void> {
  await insertEvent.run(tx, eventRow(withdrawalId, from, to, actor, reason, at));
}

function eventRow(
  withdrawalId: string,
  from: WithdrawalState | null,
  to: WithdrawalState,
  actor: string,
  reason: string | null,
  at: string,
) {
  return { id: newId(), withdrawal_id: withdrawalId, at, from_state: from, to_state: to, actor, reason };
}

export async function findProof(tx: Tx, id: string) {
  return tx.selectFrom('withdrawal_proofs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function withdrawalEvents(tx: Tx, withdrawalId: string, limit: number) {
  return tx
    .selectFrom('withdrawal_events')
    .select(['at', 'from_state', 'to_state', 'actor', 'reason'])
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function listWithdrawals(tx: Tx, accountId: string, limit: number, before?: string) {
  let query = tx.selectFrom('withdrawals').selectAll().where('account_id', '=', accountId);
  if (before !== undefined) query = query.where('id', '<', before);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** Has money gone (or is it going) to this address-book entry before? The first use gets a longer cancel window. */
export function destinationUsedBeforeQuery(tx: Tx, destinationId: string, exceptId: string) {
  return selectUsedDestination.statement(tx, destinationId, exceptId);
}

const selectUsedDestination = compiledOnce(2, (tx: Tx, _engine, destinationId: string, exceptId: string) =>
  tx
    .selectFrom('withdrawals')
    .select('id')
    .where('destination_id', '=', destinationId)
    .where('id', '<>', exceptId)
    .where('state', 'in', ['queued', 'released', 'broadcast', 'completed'])
    .limit(1),
);

/** Confirmed withdrawals of an account since `since` (for the daily limit): amounts by asset. */
export function confirmedSinceQuery(tx: Tx, accountId: string, since: string, exceptId: string) {
  return selectConfirmedSince.statement(tx, accountId, since, exceptId);
}

const selectConfirmedSince = compiledOnce(
  3,
  (tx: Tx, _engine, accountId: string, since: string, exceptId: string) =>
    tx
      .selectFrom('withdrawals')
      .select(['asset', 'amount', 'created_at'])
      .where('account_id', '=', accountId)
      .where('id', '<>', exceptId)
      .where('created_at', '>=', since)
      .where('state', 'in', [...HOLDING, 'completed'])
      .limit(1000),
);

export function newWithdrawalId(): string {
  return newId();
}
