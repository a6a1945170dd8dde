import { type Compilable, type ExpressionBuilder, type QueryResult, sql } from 'kysely';
import { compiledInsert, compiledOnce, engineOf } from './compiled-query.ts';
import type { Database } from './database.ts';
import type { Schema } from './schema.ts';
import type { RuleEvaluationsTable, RuleSetState, RuleSetsTable } from './schema-withdrawals.ts';
import { type Queryable, queryable, type Tx, together, writeBehind } from './transaction.ts';

export type RuleSetRow = Readonly<RuleSetsTable>;
export type RuleEvaluationRow = Readonly<RuleEvaluationsTable>;

const RULE_SET_COLUMNS = [
  'id',
  'version',
  'state',
  'description',
  'config',
  'created_by',
  'created_at',
  'shadowed_at',
  'activated_at',
  'activated_by',
  'retired_at',
  'updated_at',
] as const satisfies readonly (keyof RuleSetsTable)[];

/**
 * The rule sets' revision as one value (`revision:nonce`, migration 0036): a subquery another read carries, so
 * checking that the sets in force are still the ones a process holds costs no statement of its own.
 */
export function ruleSetRevisionOf(eb: ExpressionBuilder<Schema, never>) {
  return eb
    .selectFrom('rule_set_revision')
    .select(sql<string>`revision || ':' || nonce`.as('r'))
    .where('id', '=', sql.lit(1));
}

/**
 * The sets in force (active and shadow) as last read by this process, per database, under the revision they were
 * read with. Used only when the revision a transaction reads now is the same: any change to `rule_sets` (a
 * service, the CLI, a raw write) moves the revision (by trigger, forward only, with a fresh nonce), so the next
 * confirmation reads the sets again and never applies an older one.
 */
const inForce = new WeakMap<Database, { readonly revision: string; readonly rows: readonly RuleSetRow[] }>();

/** The sets in force this process holds for `database`, whatever their revision (what to count fan-in over). */
export function ruleSetsLastRead(database: Database): readonly RuleSetRow[] | undefined {
  return inForce.get(database)?.rows;
}

/**
 * The active and the shadow set, if any (at most two rows: the partial unique indexes of migration 0028), as of
 * `revision` (read by the caller in this transaction): those this process holds when they were read under the same
 * revision, else read now, with the revision they go with, in one statement.
 */
export async function ruleSetsInForce(
  database: Database,
  tx: Tx,
  revision: string | null | undefined,
): Promise<readonly RuleSetRow[]> {
  const held = inForce.get(database);
  if (held !== undefined && revision !== null && revision !== undefined && held.revision === revision)
    return held.rows;
  const rows = (await selectInForce(tx)).rows;
  const read = rows[0]?.revision;
  const sets = rows.filter((row) => row.id !== null).map(({ revision: _, ...set }) => set as RuleSetRow);
  if (typeof read === 'string') inForce.set(database, { revision: read, rows: sets });
  return sets;
}

// The revision row left-joined to the sets in force: one row with null set columns when none is in force.
const selectInForce = compiledOnce(0, (tx: Tx) =>
  tx
    .selectFrom('rule_set_revision as v')
    .leftJoin('rule_sets as r', (join) => join.on(sql<boolean>`r.state in ('active', 'shadow')`))
    .select(RULE_SET_COLUMNS.map((column) => `r.${column}` as const))
    .select(sql<string>`v.revision || ':' || v.nonce`.as('revision'))
    .where('v.id', '=', sql.lit(1))
    .orderBy('r.version'),
);

/** A new draft, its version the next after every set so far (a concurrent create is refused by UNIQUE). */
export async function insertRuleSet(tx: Tx, row: Omit<RuleSetRow, 'version'>): Promise<RuleSetRow> {
  const next = await tx
    .selectFrom('rule_sets')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  const version = Number(next?.v ?? 0) + 1;
  const full = { ...row, version };
  await tx.insertInto('rule_sets').values(full).execute();
  return full;
}

export async function findRuleSet(on: Queryable, id: string): Promise<RuleSetRow | undefined> {
  return queryable(on).selectFrom('rule_sets').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Locks the set (PostgreSQL) for a state move. */
export async function lockRuleSet(tx: Tx, id: string): Promise<RuleSetRow | undefined> {
  const query = tx.selectFrom('rule_sets').selectAll().where('id', '=', id);
  return (engineOf(tx) === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}

export async function findRuleSetInState(tx: Tx, state: RuleSetState): Promise<RuleSetRow | undefined> {
  const query = tx.selectFrom('rule_sets').selectAll().where('state', '=', state);
  return (engineOf(tx) === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}

/** Moves a set from `from` to `to` with `changes`; false when it was not in `from` any more. */
export async function moveRuleSet(
  tx: Tx,
  id: string,
  from: RuleSetState,
  to: RuleSetState,
  changes: Partial<Pick<RuleSetRow, 'shadowed_at' | 'activated_at' | 'activated_by' | 'retired_at'>> & {
    updated_at: string;
  },
): Promise<boolean> {
  const result = await tx
    .updateTable('rule_sets')
    .set({ state: to, ...changes })
    .where('id', '=', id)
    .where('state', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Newest version first, a page at a time (`before` is the last version of the page before). */
export async function ruleSetsPage(
  on: Queryable,
  limit: number,
  before: number | undefined,
): Promise<{ sets: RuleSetRow[]; hasMore: boolean }> {
  let query = queryable(on)
    .selectFrom('rule_sets')
    .selectAll()
    .orderBy('version', 'desc')
    .limit(limit + 1);
  if (before !== undefined) query = query.where('version', '<', before);
  const rows = await query.execute();
  return { sets: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * The confirmation's evaluations (the active set's, and the shadow's when there is one), as one INSERT sent behind
 * the transaction's next statement: no round trip of its own.
 */
const insertEvaluation = compiledInsert('rule_evaluations', [
  'id',
  'withdrawal_id',
  'rule_set_id',
  'rule_set_version',
  'mode',
  'outcome',
  'enforced_outcome',
  'disagrees',
  'results',
  'facts',
  'at',
]);

/** The active set's evaluation (the shape every confirmation writes, compiled once), or it and the shadow's in one INSERT. */
export async function recordEvaluations(tx: Tx, rows: readonly RuleEvaluationRow[]): Promise<void> {
  const [only] = rows;
  if (only === undefined) return;
  await writeBehind(
    tx,
    rows.length === 1
      ? insertEvaluation.statement(tx, only)
      : tx.insertInto('rule_evaluations').values([...rows]),
  );
}

export async function evaluationsOf(on: Queryable, withdrawalId: string): Promise<RuleEvaluationRow[]> {
  return queryable(on)
    .selectFrom('rule_evaluations')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('mode')
    .execute();
}

/** The active set's evaluations of `withdrawalIds` (one read for a page of the review queue), oldest first. */
export async function activeEvaluationsOf(
  on: Queryable,
  withdrawalIds: readonly string[],
): Promise<RuleEvaluationRow[]> {
  if (withdrawalIds.length === 0) return [];
  return queryable(on)
    .selectFrom('rule_evaluations')
    .selectAll()
    .where('withdrawal_id', 'in', withdrawalIds)
    .where('mode', '=', 'active')
    .orderBy('at')
    .execute();
}

/** A shadow set's evaluations whose outcome differed from what was enforced, oldest first, a page at a time. */
export async function disagreementsPage(
  on: Queryable,
  ruleSetId: string,
  limit: number,
  after: { at: string; id: string } | undefined,
): Promise<{ evaluations: RuleEvaluationRow[]; hasMore: boolean }> {
  let query = queryable(on)
    .selectFrom('rule_evaluations')
    .selectAll()
    .where('rule_set_id', '=', ruleSetId)
    .where('disagrees', '=', 1)
    .orderBy('at')
    .orderBy('id')
    .limit(limit + 1);
  if (after !== undefined)
    query = query.where((eb) =>
      eb.or([eb('at', '>', after.at), eb.and([eb('at', '=', after.at), eb('id', '>', after.id)])]),
    );
  const rows = await query.execute();
  return { evaluations: rows.slice(0, limit), hasMore: rows.length > limit };
}

export async function findEvaluation(on: Queryable, id: string): Promise<RuleEvaluationRow | undefined> {
  return queryable(on).selectFrom('rule_evaluations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The confirming session's start and its device's first sighting and integrity (the confirmation's read). */
export interface SessionDeviceRow {
  readonly session_id: string;
  readonly session_created_at: string;
  readonly device_id: string | null;
  readonly device_first_seen_at: string | null;
  readonly device_integrity: 'ok' | 'jailbroken' | 'unknown' | null;
}

/** Distinct accounts counted at most this many; past it the count is not known (fails closed). */
export const FAN_IN_READ_CAP = 10_000;

/**
 * Fan-in: for each window, how many distinct accounts other than `accountId` have a confirmed withdrawal (a proof
 * is named) to this destination since then. On PostgreSQL a transaction-scoped advisory lock on the destination's
 * key is taken first, in the same round trip: concurrent confirmations to one destination count one after
 * another, each seeing the ones committed before it (READ COMMITTED takes a snapshot per statement), so they cannot
 * all slip under the threshold. SQLite has one writer at a time already.
 */
export async function countFanIn(
  tx: Tx,
  destination: { network: string; address: string; lockKey: bigint; accountId: string },
  since: readonly string[],
): Promise<{ accounts: number; overCap: boolean }[]> {
  if (since.length === 0) return [];
  const counts = since.map((from) =>
    countFanInSince.statement(tx, destination.network, destination.address, from, destination.accountId),
  );
  const results =
    engineOf(tx) === 'postgres'
      ? (await together(tx, advisoryLock(tx, destination.lockKey), ...counts)).slice(1)
      : await together(tx, ...counts);
  return results.map(fanInCountOf);
}

/** A fan-in count over the last `windowSeconds`: distinct other accounts, and whether the read cap was passed. */
export interface FanInCount {
  readonly windowSeconds: number;
  readonly accounts: number;
  readonly overCap: boolean;
}

/**
 * countFanIn's statements for the withdrawal `withdrawalId` (its network and destination selected through it), for
 * a caller that sends them with its other reads: on PostgreSQL the destination's advisory lock first (its key
 * computed in SQL as core's fanInKey computes it: tested equal), then one count per window, each a statement of its
 * own so that its snapshot is taken once the lock is held.
 */
export function fanInOfWithdrawal(
  tx: Tx,
  withdrawalId: string,
  accountId: string,
  windows: readonly { readonly windowSeconds: number; readonly since: string }[],
): { statements: Compilable<unknown>[]; decode(results: readonly QueryResult<unknown>[]): FanInCount[] } {
  if (windows.length === 0) return { statements: [], decode: () => [] };
  const lock = engineOf(tx) === 'postgres' ? [lockFanInOf.statement(tx, withdrawalId)] : [];
  return {
    statements: [
      ...lock,
      ...windows.map((window) => countFanInOf.statement(tx, withdrawalId, window.since, accountId)),
    ],
    decode: (results) =>
      results.slice(lock.length).map((result, index) => ({
        windowSeconds: windows[index]?.windowSeconds ?? Number.NaN,
        ...fanInCountOf(result),
      })),
  };
}

function fanInCountOf(result: QueryResult<unknown>): { accounts: number; overCap: boolean } {
  const n = Number((result.rows[0] as { n: string | number } | undefined)?.n ?? Number.NaN);
  if (!Number.isFinite(n)) throw new Error('the fan-in count gave no number');
  return { accounts: Math.min(n, FAN_IN_READ_CAP), overCap: n > FAN_IN_READ_CAP };
}

/** core's fanInKey(network, address).lock, computed by PostgreSQL from the withdrawal row `w`. */
const FAN_IN_LOCK_KEY = sql<string>`('x' || encode(substr(sha256(convert_to('drawbridge/fan-in/v1' || chr(10) || w.network || ':' || (case when w.network = 'ethereum' then lower(w.destination_address) else w.destination_address end), 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint`;

/** The lock key PostgreSQL computes for a withdrawal (a test holds it equal to core's fanInKey). */
export async function fanInLockKeyOf(tx: Tx, withdrawalId: string): Promise<bigint | undefined> {
  const row = await tx
    .selectFrom('withdrawals as w')
    .select(sql<string>`${FAN_IN_LOCK_KEY}::text`.as('k'))
    .where('w.id', '=', withdrawalId)
    .executeTakeFirst();
  return row === undefined ? undefined : BigInt(row.k);
}

const lockFanInOf = compiledOnce(1, (tx: Tx, _engine, withdrawalId: string) =>
  tx
    .selectFrom('withdrawals as w')
    .select(sql<string>`pg_advisory_xact_lock(${FAN_IN_LOCK_KEY})::text`.as('locked'))
    .where('w.id', '=', withdrawalId),
);

const countFanInOf = compiledOnce(
  3,
  (tx: Tx, _engine, withdrawalId: string, since: string, accountId: string) =>
    tx
      .selectFrom(
        tx
          .selectFrom('withdrawals as f')
          .select('f.account_id')
          .distinct()
          .where('f.network', '=', (eb) =>
            eb.selectFrom('withdrawals as w').select('w.network').where('w.id', '=', withdrawalId),
          )
          .where('f.destination_address', '=', (eb) =>
            eb
              .selectFrom('withdrawals as w')
              .select('w.destination_address')
              .where('w.id', '=', withdrawalId),
          )
          .where('f.created_at', '>=', since)
          .where('f.proof_id', 'is not', null)
          .where('f.account_id', '<>', accountId)
          .limit(FAN_IN_READ_CAP + 1)
          .as('t'),
      )
      .select((eb) => eb.fn.countAll<string | number>().as('n')),
);

function advisoryLock(tx: Tx, key: bigint) {
  const statement = sql`select pg_advisory_xact_lock(${key.toString()}::bigint)`;
  return { compile: () => statement.compile(tx) };
}

const countFanInSince = compiledOnce(
  4,
  (tx: Tx, _engine, network: string, address: string, since: string, accountId: string) =>
    tx
      .selectFrom(
        tx
          .selectFrom('withdrawals')
          .select('account_id')
          .distinct()
          .where('network', '=', network)
          .where('destination_address', '=', address)
          .where('created_at', '>=', since)
          .where('proof_id', 'is not', null)
          .where('account_id', '<>', accountId)
          .limit(FAN_IN_READ_CAP + 1)
          .as('t'),
      )
      .select((eb) => eb.fn.countAll<string | number>().as('n')),
);
