import type { ExpressionBuilder } from 'kysely';
import { DomainError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { canMove, HOLDING } from '../core/withdrawals/states.ts';
import { compiledInsert, compiledOnce, rowsOf } from './compiled-query.ts';
import type { Database } from './database.ts';
import type { Schema } from './schema.ts';
import type { WithdrawalProofsTable, WithdrawalState, WithdrawalsTable } from './schema-withdrawals.ts';
import { type Queryable, queryable, type Tx, together, writeBehind } from './transaction.ts';

export type WithdrawalRow = Readonly<WithdrawalsTable>;

/** Stores a new withdrawal and its first event; they leave with the transaction's next statement (writeBehind). */
export async function insertWithdrawal(tx: Tx, row: WithdrawalsTable, actor: string): Promise<void> {
  await writeBehind(
    tx,
    insertWithdrawalRow.statement(tx, row),
    insertEvent.statement(tx, eventRow(row.id, null, row.state, actor, null, row.created_at)),
  );
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
  'move_id',
  'released_at',
  'usd_value',
  'usd_price',
  'usd_price_at',
  'usd_price_source',
  'session_id',
  'device_id',
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

/** Stores a withdrawal's proof; it leaves with the transaction's next statement (writeBehind), the move naming it. */
export async function recordProof(tx: Tx, row: WithdrawalProofsTable): Promise<void> {
  await writeBehind(tx, insertProofRow.statement(tx, row));
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

export async function findWithdrawal(on: Queryable, id: string): Promise<WithdrawalRow | undefined> {
  const tx = queryable(on);
  return tx.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One hop of a move: the state entered, who made it, and why. */
export interface MoveStep {
  readonly to: WithdrawalState;
  readonly actor: string;
  readonly reason: string | null;
}

export interface WithdrawalMove {
  readonly id: string;
  /** The state the row must be in; a row in any other state is not moved (a concurrent mover won). */
  readonly from: WithdrawalState;
  /** Each hop in order (confirmation goes awaiting_confirmation -> screening -> its outcome): one event each. */
  readonly path: readonly MoveStep[];
  /** The other columns that change with the last hop. */
  readonly changes?: Changes;
  readonly at: string;
}

/**
 * The one way a withdrawal changes state. Every hop of the path must be in the life cycle's table
 * (src/core/withdrawals/states.ts): anything else is refused with ILLEGAL_TRANSITION before a statement is sent.
 * The update, and one event per hop (one INSERT), go out in one round trip: each event is inserted only if this very
 * update matched (it is keyed by a fresh `move_id` the update writes), so a lost race writes nothing. Returns false when
 * the row was not in `from`.
 */
export async function moveWithdrawal(tx: Tx, move: WithdrawalMove): Promise<boolean> {
  const { moveId, last, events } = planMove(move);
  const [moved] = await together(
    tx,
    moveStatement(tx, move.id, move.from, last.to, { ...move.changes, move_id: moveId }, move.at),
    eventsIfMoved(tx, events, move.id, moveId, 'if moved'),
  );
  return moved.numAffectedRows === 1n;
}

/** The move checked against the life cycle (ILLEGAL_TRANSITION before anything is sent), its id and its events. */
function planMove(move: WithdrawalMove) {
  let from = move.from;
  for (const step of move.path) {
    if (!canMove(from, step.to)) throw illegalTransition(move.id, from, step.to);
    from = step.to;
  }
  const last = move.path.at(-1);
  if (last === undefined) throw new Error('assertion failed: a move has at least one step');
  const moveId = newId();
  let previous: WithdrawalState = move.from;
  const events = move.path.map((step) => {
    const event = eventRow(move.id, previous, step.to, step.actor, step.reason, move.at);
    previous = step.to;
    return event;
  });
  return { moveId, last, events };
}

/**
 * A move the caller's logic guarantees (the row is locked and its state checked): not moving is a bug. Nothing waits
 * for it (writeBehind): its events are selected from the row whatever its move id, with the state entered only if
 * the update wrote this move's id, so a move that did not land inserts a NULL state and the NOT NULL constraint
 * fails the transaction at its next statement or COMMIT.
 */
export async function moveLockedWithdrawal(tx: Tx, move: WithdrawalMove): Promise<void> {
  const { moveId, last, events } = planMove(move);
  await writeBehind(
    tx,
    moveStatement(tx, move.id, move.from, last.to, { ...move.changes, move_id: moveId }, move.at),
    eventsIfMoved(tx, events, move.id, moveId, 'or fail'),
  );
}

function illegalTransition(id: string, from: WithdrawalState, to: WithdrawalState): DomainError {
  return new DomainError('ILLEGAL_TRANSITION', `a ${from} withdrawal cannot become ${to}`, {
    details: { withdrawal_id: id, from, to },
  });
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

/**
 * A move's events, one row per hop in one INSERT, each row selected only if the withdrawal carries the move id its
 * update just wrote ('if moved'), or selected from the row in any case with the state NULL unless it does ('or
 * fail', which the NOT NULL constraint on to_state turns into an error). One compiled shape per path length (1 or 2
 * hops in practice) and kind.
 */
type EventsMode = 'if moved' | 'or fail';
const eventInserts = new Map<string, ReturnType<typeof compiledEventInsert>>();

function compiledEventInsert(hops: number, mode: EventsMode) {
  const width = EVENT_COLUMNS.length;
  return compiledOnce(hops * width + 2, (tx: Tx, _engine, ...args: (string | null)[]) => {
    const [withdrawalId, moveId] = args.slice(hops * width) as [string, string];
    return tx
      .insertInto('withdrawal_events')
      .columns([...EVENT_COLUMNS])
      .expression((eb) => {
        const row = (hop: number) => {
          const rows = eb.selectFrom('withdrawals').select((w) =>
            EVENT_COLUMNS.map((column, i) => {
              const value = w.val(args[hop * width + i] ?? null);
              return mode === 'or fail' && column === 'to_state'
                ? w.case().when('move_id', '=', moveId).then(value).end().as(column)
                : value.as(column);
            }),
          );
          return mode === 'or fail'
            ? rows.where('id', '=', withdrawalId)
            : rows.where('id', '=', withdrawalId).where('move_id', '=', moveId);
        };
        let rows = row(0);
        for (let hop = 1; hop < hops; hop++) rows = rows.unionAll(row(hop));
        return rows;
      });
  });
}

function eventsIfMoved(
  tx: Tx,
  events: readonly ReturnType<typeof eventRow>[],
  withdrawalId: string,
  moveId: string,
  mode: EventsMode,
) {
  const key = `${events.length}:${mode}`;
  let insert = eventInserts.get(key);
  if (insert === undefined) {
    insert = compiledEventInsert(events.length, mode);
    eventInserts.set(key, insert);
  }
  const values = events.flatMap((event) => EVENT_COLUMNS.map((column) => event[column]));
  return insert.statement(tx, ...values, withdrawalId, moveId);
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

export async function withdrawalEvents(on: Queryable, withdrawalId: string, limit: number) {
  const tx = queryable(on);
  return tx
    .selectFrom('withdrawal_events')
    .select(['at', 'from_state', 'to_state', 'actor', 'reason'])
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** What withdrawals may be searched by; every field narrows. */
export interface WithdrawalFilter {
  readonly accountId?: string | undefined;
  readonly state?: WithdrawalState | undefined;
  readonly asset?: string | undefined;
  /** Created at or after (ISO-8601). */
  readonly createdFrom?: string | undefined;
  /** Created before (ISO-8601). */
  readonly createdUntil?: string | undefined;
}

/**
 * Withdrawals matching `filter`, newest first: `limit` rows after `startingAfter` (the last id of the page before;
 * ids are time-ordered). A caller asks for one more than it shows to know whether another page exists.
 */
export async function findWithdrawals(
  on: Queryable,
  filter: WithdrawalFilter,
  limit: number,
  startingAfter: string | undefined,
): Promise<WithdrawalRow[]> {
  let query = queryable(on).selectFrom('withdrawals').selectAll();
  if (filter.accountId !== undefined) query = query.where('account_id', '=', filter.accountId);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.asset !== undefined) query = query.where('asset', '=', filter.asset);
  if (filter.createdFrom !== undefined) query = query.where('created_at', '>=', filter.createdFrom);
  if (filter.createdUntil !== undefined) query = query.where('created_at', '<', filter.createdUntil);
  if (startingAfter !== undefined) query = query.where('id', '<', startingAfter);
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

/**
 * How many of an account's withdrawals in the window the daily limit totals. One more is read: a window with more
 * than this is not totalled, and the limit holds the withdrawal (fails closed) instead of undercounting.
 */
export const DAILY_TOTAL_READ_CAP = 10_000;

/**
 * Confirmed withdrawals of an account since `since` (for the daily limit): amounts by asset, at most
 * DAILY_TOTAL_READ_CAP + 1 rows (the caller checks for the extra one). The amounts are added as bigints by the
 * caller: SQLite's SUM would overflow on wei amounts.
 */
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
      .orderBy('created_at')
      .limit(DAILY_TOTAL_READ_CAP + 1),
);

export function newWithdrawalId(): string {
  return newId();
}

/**
 * Reads a queued withdrawal to release it. On PostgreSQL the row stays locked until the transaction ends, and a
 * row another node is releasing right now is skipped (SKIP LOCKED), not waited for.
 */
export async function lockWithdrawalForRelease(
  database: Database,
  tx: Tx,
  id: string,
): Promise<WithdrawalRow | undefined> {
  let query = tx.selectFrom('withdrawals').selectAll().where('id', '=', id);
  if (database.engine === 'postgres') query = query.forUpdate().skipLocked();
  return query.executeTakeFirst();
}

/**
 * Ids of withdrawals in `state` whose `column` time has come, earliest first, at most `limit`. Queued ones that an
 * active halt covers are left out (the releaser would only leave them where they are, and 50 of them would
 * otherwise fill every pass and stall everybody else's releases); the release itself still checks the halt.
 */
export async function dueIds(
  on: Queryable,
  state: 'queued' | 'time_locked' | 'awaiting_confirmation',
  at: string,
  limit: number,
): Promise<string[]> {
  const tx = queryable(on);
  const column =
    state === 'queued' ? 'release_after' : state === 'time_locked' ? 'time_locked_until' : 'expires_at';
  let query = tx.selectFrom('withdrawals').select('id').where('state', '=', state).where(column, '<=', at);
  if (state === 'queued') query = query.where((eb) => eb.not(eb.exists(coveringHalts(eb))));
  const rows = await query.orderBy(column).orderBy('id').limit(limit).execute();
  return rows.map((row) => row.id);
}

/** How many due queued withdrawals an active halt holds back right now (at most `limit` are counted). */
export async function countDueHalted(on: Queryable, at: string, limit: number): Promise<number> {
  const tx = queryable(on);
  const rows = await tx
    .selectFrom('withdrawals')
    .select('id')
    .where('state', '=', 'queued')
    .where('release_after', '<=', at)
    .where((eb) => eb.exists(coveringHalts(eb)))
    .limit(limit)
    .execute();
  return rows.length;
}

/** The active halts covering the outer withdrawal row: `haltCovers` in SQL, as in store/halts.ts. */
function coveringHalts(eb: ExpressionBuilder<Schema, 'withdrawals'>) {
  return eb
    .selectFrom('halts')
    .select('halts.id')
    .where('halts.lifted_at', 'is', null)
    .where((h) =>
      h.or([
        h('halts.scope', '=', 'global'),
        h.and([
          h('halts.scope', '=', 'asset'),
          h('halts.asset', '=', h.ref('withdrawals.asset')),
          h.or([h('halts.network', 'is', null), h('halts.network', '=', h.ref('withdrawals.network'))]),
        ]),
        h.and([
          h('halts.scope', '=', 'account'),
          h('halts.account_id', '=', h.ref('withdrawals.account_id')),
        ]),
      ]),
    );
}

/**
 * Withdrawals in `state`, the longest unchanged first, at most `limit`; `after` (the last row of the page before)
 * pages on, so rows that stay put (custody has no news of them) cannot keep the rest from ever being seen.
 */
export async function withdrawalsIn(
  on: Queryable,
  state: 'released' | 'broadcast',
  limit: number,
  after?: { readonly updated_at: string; readonly id: string },
): Promise<WithdrawalRow[]> {
  const tx = queryable(on);
  let query = tx.selectFrom('withdrawals').selectAll().where('state', '=', state);
  if (after !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('updated_at', '>', after.updated_at),
        eb.and([eb('updated_at', '=', after.updated_at), eb('id', '>', after.id)]),
      ]),
    );
  }
  return query.orderBy('updated_at').orderBy('id').limit(limit).execute();
}

/** Sets columns that are not the state (the confirmation's failure count) on a row the caller holds. */
export async function updateWithdrawalDetails(
  tx: Tx,
  id: string,
  changes: Pick<Partial<WithdrawalsTable>, 'confirm_failures'>,
): Promise<void> {
  await tx.updateTable('withdrawals').set(changes).where('id', '=', id).execute();
}

/**
 * In a releasing transaction on PostgreSQL: share-locks the account row and the destination's address-book row, so
 * a lock of the account, a security change or a removal of the address (each an UPDATE of those rows) waits for a
 * release in flight, and a release that starts after it sees it. SQLite's single writer gives the same order.
 */
export async function lockReleaseSubjects(
  database: Database,
  tx: Tx,
  accountId: string,
  destinationId: string,
): Promise<void> {
  if (database.engine !== 'postgres') return;
  await together(
    tx,
    tx.selectFrom('principals').select('id').where('id', '=', accountId).forShare(),
    tx.selectFrom('address_book_entries').select('id').where('id', '=', destinationId).forShare(),
  );
}

/**
 * What an account had released since `since` (released, broadcast, completed or errored by release time), other
 * than `exceptId`: amounts by asset, at most DAILY_TOTAL_READ_CAP + 1 rows (the caller checks for the extra one).
 */
export async function releasedSince(
  tx: Tx,
  accountId: string,
  since: string,
  exceptId: string,
): Promise<{ asset: string; amount: string }[]> {
  return tx
    .selectFrom('withdrawals')
    .select(['asset', 'amount'])
    .where('account_id', '=', accountId)
    .where('released_at', '>=', since)
    .where('id', '<>', exceptId)
    .where('state', 'in', ['released', 'broadcast', 'completed', 'errored'])
    .orderBy('released_at')
    .limit(DAILY_TOTAL_READ_CAP + 1)
    .execute();
}
