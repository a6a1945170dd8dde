import { sql } from 'kysely';
import { compiledOnce, engineOf } from './compiled-query.ts';
import type { RuleEvaluationsTable, RuleSetState, RuleSetsTable } from './schema-withdrawals.ts';
import { type Queryable, queryable, type Tx, together, writeBehind } from './transaction.ts';

export type RuleSetRow = Readonly<RuleSetsTable>;
export type RuleEvaluationRow = Readonly<RuleEvaluationsTable>;

/** The active and the shadow set, if any: at most two rows (the partial unique indexes of migration 0030). */
export function ruleSetsInForceQuery(tx: Tx) {
  return selectInForce.statement(tx);
}

const selectInForce = compiledOnce(0, (tx: Tx) =>
  tx.selectFrom('rule_sets').selectAll().where('state', 'in', ['active', 'shadow']).orderBy('version'),
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
export async function recordEvaluations(tx: Tx, rows: readonly RuleEvaluationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await writeBehind(tx, tx.insertInto('rule_evaluations').values([...rows]));
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

/** The confirming session's start and its device's first sighting and integrity, one row at most. */
export function sessionDeviceQuery(tx: Tx, sessionId: string) {
  return selectSessionDevice.statement(tx, sessionId);
}

export interface SessionDeviceRow {
  readonly session_id: string;
  readonly session_created_at: string;
  readonly device_id: string | null;
  readonly device_first_seen_at: string | null;
  readonly device_integrity: 'ok' | 'jailbroken' | 'unknown' | null;
}

const selectSessionDevice = compiledOnce(1, (tx: Tx, _engine, sessionId: string) =>
  tx
    .selectFrom('sessions as s')
    .leftJoin('devices as d', 'd.id', 's.device_id')
    .select([
      's.id as session_id',
      's.created_at as session_created_at',
      's.device_id as device_id',
      'd.first_seen_at as device_first_seen_at',
      'd.integrity as device_integrity',
    ])
    .where('s.id', '=', sessionId),
);

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
  return results.map((result) => {
    const n = Number((result.rows[0] as { n: string | number } | undefined)?.n ?? Number.NaN);
    if (!Number.isFinite(n)) throw new Error('the fan-in count gave no number');
    return { accounts: Math.min(n, FAN_IN_READ_CAP), overCap: n > FAN_IN_READ_CAP };
  });
}

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
