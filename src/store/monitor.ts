import { type Compilable, CompiledQuery, type QueryResult, type Selectable, sql } from 'kysely';
import type { AccountJournal } from '../core/monitor/account-journal.ts';
import { compiledInsert, compiledOnce, engineOf, opaqueParameter } from './compiled-query.ts';
import type { Engine } from './database.ts';
import { FACTOR_COLUMNS } from './identity/factors.ts';
import { accountJournalReads } from './monitor-journal.ts';
import type { MfaFactorsTable } from './schema-identity.ts';
import type { MonitorVerdictsTable, TotpClaimsTable } from './schema-monitor.ts';
import type { WithdrawalProofsTable } from './schema-withdrawals.ts';
import { type Queryable, queryable, type Reads, readTogether, type Tx, writeBehind } from './transaction.ts';
import { PROOF_COLUMNS, WITHDRAWAL_COLUMNS, type WithdrawalRow } from './withdrawals.ts';

/**
 * The independent monitor's reads and writes (src/services/monitor). It reads the approval path's tables as raw
 * rows and writes only its own: the feed it empties, its verdicts, the proof tokens it accepted, its findings.
 */

/** A withdrawal with changes to check: its newest feed entry's seq (the entries up to it leave once checked). */
export interface FeedEntry {
  readonly seq: number;
  readonly withdrawal_id: string;
}

/**
 * The oldest `limit` entries of the feed (migration 0024). At `limit` the rest wait for the next pass: nothing is
 * skipped, since entries leave the feed only once checked (deleteFeedEntries), whatever order they committed in.
 */
export async function feedEntries(on: Queryable, limit: number): Promise<FeedEntry[]> {
  // One entry per withdrawal (its newest), oldest first: many entries of one withdrawal (a row written over and
  // over, or one whose check keeps failing) take one place in the batch, not all of them.
  const rows = await queryable(on)
    .selectFrom('monitor_feed')
    .select(['withdrawal_id', (eb) => eb.fn.min('seq').as('first'), (eb) => eb.fn.max('seq').as('last')])
    .groupBy('withdrawal_id')
    .orderBy('first')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ withdrawal_id: row.withdrawal_id, seq: Number(row.last) }));
}

/**
 * Removes `withdrawalId`'s entries up to `seq` (those its check has seen; a later change stays queued), sent without
 * waiting inside the check's transaction: they leave with its COMMIT, and only then.
 */
export async function deleteFeedEntriesBehind(tx: Tx, withdrawalId: string, seq: number): Promise<void> {
  await writeBehind(tx, deleteFeed.statement(tx, withdrawalId, String(seq)));
}

const deleteFeed = compiledOnce(2, (tx: Tx, engine, withdrawalId: string, seq: string) =>
  tx
    .deleteFrom('monitor_feed')
    .where('withdrawal_id', '=', opaqueParameter(engine, withdrawalId))
    .where('seq', '<=', opaqueParameter(engine, seq as unknown as number)),
);

/** How many entries wait, and the oldest one's time (the monitor's lag). */
export async function feedBacklog(on: Queryable): Promise<{ count: number; oldestAt: string | null }> {
  const row = await queryable(on)
    .selectFrom('monitor_feed')
    .select((eb) => [eb.fn.countAll<string | number>().as('n'), eb.fn.min('at').as('oldest')])
    .executeTakeFirstOrThrow();
  return { count: Number(row.n), oldestAt: (row.oldest as string | null) ?? null };
}

export async function findTotpClaim(
  tx: Tx,
  principalId: string,
  step: number,
): Promise<Pick<TotpClaimsTable, 'purpose' | 'factor_id'> | undefined> {
  return (await selectTotpClaim(tx, principalId, String(step))).rows[0];
}

const selectTotpClaim = compiledOnce(2, (tx: Tx, _engine, principalId: string, step: string) =>
  tx
    .selectFrom('totp_claims')
    .select(['purpose', 'factor_id'])
    .where('principal_id', '=', principalId)
    .where('step', '=', step as unknown as number),
);

const ENROLMENT_ACTIONS = [
  'mfa.totp_enrolled',
  'mfa.passkey_registered',
  'mfa.recovery_codes_issued',
] as const;
/** An account's enrolments read per lookup; at the bound the key counts as not found (the monitor refuses). */
export const ENROLMENT_READ_CAP = 1000;

function fingerprintIn(data: string, factorId: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  const record = parsed as { factor_id?: unknown; key_sha256?: unknown; factors?: unknown };
  const candidates = Array.isArray(record.factors) ? (record.factors as unknown[]) : [record];
  for (const candidate of candidates) {
    const c = candidate as { factor_id?: unknown; key_sha256?: unknown } | null;
    if (c?.factor_id === factorId && typeof c.key_sha256 === 'string') return c.key_sha256;
  }
  return undefined;
}

/**
 * Records that `token` (a TOTP step, a recovery code, a passkey challenge) proved `withdrawalId`. Answers the
 * withdrawal that used it first: this one, or another (proof reuse).
 */
export async function claimProofToken(
  tx: Tx,
  token: string,
  withdrawalId: string,
  at: string,
): Promise<string> {
  // Read, then insert: the table is append-only (migration 0035), and on SQLite its guard against INSERT OR REPLACE
  // refuses an INSERT ... ON CONFLICT too. Two monitors racing on one token: the second insert fails, its check is
  // retried on the next pass and then reads the first's row.
  const first = await tx
    .selectFrom('monitor_proof_uses')
    .select('withdrawal_id')
    .where('token', '=', token)
    .executeTakeFirst();
  if (first !== undefined) return first.withdrawal_id;
  await tx.insertInto('monitor_proof_uses').values({ token, withdrawal_id: withdrawalId, at }).execute();
  return withdrawalId;
}

export type VerdictRow = Readonly<MonitorVerdictsTable>;

/** A withdrawal's verdict rows as stored: an approval and a rejection at most (never trusted unverified). */
export interface VerdictRows {
  readonly approve: VerdictRow | undefined;
  readonly reject: VerdictRow | undefined;
}

export async function findVerdicts(on: Queryable, withdrawalId: string): Promise<VerdictRows> {
  const rows = await queryable(on)
    .selectFrom('monitor_verdicts')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .execute();
  return {
    approve: rows.find((row) => row.verdict === 'approve'),
    reject: rows.find((row) => row.verdict === 'reject'),
  };
}

/** Adds a verdict unless one of its kind is there (the table is append-only: read, then insert). */
export async function addVerdict(tx: Tx, row: VerdictRow): Promise<void> {
  const there = await tx
    .selectFrom('monitor_verdicts')
    .select('verdict')
    .where('withdrawal_id', '=', row.withdrawal_id)
    .where('verdict', '=', row.verdict)
    .executeTakeFirst();
  if (there === undefined) await tx.insertInto('monitor_verdicts').values(row).execute();
}

/** Records a finding once per withdrawal and check; true when it is new. */
export async function recordFinding(
  tx: Tx,
  row: {
    id: string;
    withdrawal_id: string;
    check_name: string;
    severity: 'warning' | 'critical';
    detail: string;
    at: string;
  },
): Promise<boolean> {
  const result = await tx
    .insertInto('monitor_findings')
    .values(row)
    .onConflict((oc) => oc.columns(['withdrawal_id', 'check_name']).doNothing())
    .executeTakeFirst();
  return result.numInsertedOrUpdatedRows === 1n;
}

export async function findingsOf(on: Queryable, withdrawalId: string) {
  return queryable(on)
    .selectFrom('monitor_findings')
    .selectAll()
    .where('withdrawal_id', '=', withdrawalId)
    .orderBy('at')
    .execute();
}

/**
 * The states the sweep looks in: a proof was accepted (or claimed) and the money has not settled. Settled and
 * ended withdrawals are the feed's alone, so withdrawals completed before the monitor existed are not re-judged.
 */
export const SWEPT_STATES = [
  'screening',
  'queued',
  'time_locked',
  'held_for_review',
  'released',
  'broadcast',
  'errored',
] as const;

/**
 * The slow sweep: up to `limit` withdrawals in a swept state that have no verdict, oldest update first. A
 * withdrawal the feed never told of (its trigger dropped, a row restored from a dump) is still checked.
 */
export async function uncheckedWithdrawals(on: Queryable, limit: number): Promise<string[]> {
  const rows = await queryable(on)
    .selectFrom('withdrawals')
    .select('withdrawals.id')
    .where('withdrawals.state', 'in', SWEPT_STATES)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('monitor_verdicts')
            .select(sql.lit(1).as('one'))
            .whereRef('monitor_verdicts.withdrawal_id', '=', 'withdrawals.id'),
        ),
      ),
    )
    .orderBy('withdrawals.updated_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** The verdict columns read beside the withdrawal, once for the approval (`va_`) and once for the rejection (`vr_`). */
const VERDICT_COLUMNS = ['withdrawal_id', 'verdict', 'statement', 'signature', 'key_id', 'at'] as const;

type Prefixed<P extends string, T> = { readonly [K in keyof T & string as `${P}${K}`]: T[K] | null };
type CheckRow = WithdrawalRow &
  Prefixed<'va_', VerdictRow> &
  Prefixed<'vr_', VerdictRow> &
  Prefixed<'p_', ProofRow> &
  Prefixed<'f_', FactorRow> & {
    /** The factor's removals: 0, 1, or 2 for two or more (then they are read in full), and the first one. */
    readonly removal_count: number | string;
    readonly removal_first: string | null;
  } & {
    /** The epochs in force now: everyone's (security_epochs) and the factor's owner's own (principals). */
    readonly e_mfa_epoch: number | null;
    readonly e_totp_epoch: number | null;
    readonly e_passkey_epoch: number | null;
    readonly e_recovery_epoch: number | null;
    readonly o_mfa_epoch: number | null;
  };

/**
 * The withdrawal, its two possible verdicts (the key is withdrawal and verdict: one row each at most), its proof
 * through its own proof_id, the proving factor through the proof's factor_id, and how many times that factor was
 * removed (counted up to 2) with the first time: one row, by primary keys.
 */
const selectCheckRow = compiledOnce(1, (tx: Tx, engine, id: string) =>
  tx
    .selectFrom('withdrawals as w')
    .leftJoin('monitor_verdicts as va', (join) =>
      join.onRef('va.withdrawal_id', '=', 'w.id').on('va.verdict', '=', sql.lit('approve')),
    )
    .leftJoin('monitor_verdicts as vr', (join) =>
      join.onRef('vr.withdrawal_id', '=', 'w.id').on('vr.verdict', '=', sql.lit('reject')),
    )
    .leftJoin('withdrawal_proofs as p', 'p.id', 'w.proof_id')
    .leftJoin('mfa_factors as f', 'f.id', 'p.factor_id')
    .leftJoin('security_epochs as e', (join) => join.on('e.id', '=', sql.lit(1)))
    .leftJoin('principals as o', 'o.id', 'f.principal_id')
    .select(WITHDRAWAL_COLUMNS.map((column) => `w.${column}` as const))
    .select(VERDICT_COLUMNS.map((column) => `va.${column} as va_${column}` as const))
    .select(VERDICT_COLUMNS.map((column) => `vr.${column} as vr_${column}` as const))
    .select(PROOF_COLUMNS.map((column) => `p.${column} as p_${column}` as const))
    .select(FACTOR_COLUMNS.map((column) => `f.${column} as f_${column}` as const))
    .select([
      'e.mfa_epoch as e_mfa_epoch',
      'e.totp_epoch as e_totp_epoch',
      'e.passkey_epoch as e_passkey_epoch',
      'e.recovery_epoch as e_recovery_epoch',
      'o.mfa_epoch as o_mfa_epoch',
    ])
    .select([
      sql<number>`(select count(*) from (select 1 as one from factor_removals r where r.factor_id = f.id limit 2) two)`.as(
        'removal_count',
      ),
      sql<string | null>`(select min(r.removed_at) from factor_removals r where r.factor_id = f.id)`.as(
        'removal_first',
      ),
    ])
    .where('w.id', '=', opaqueParameter(engine, id))
    .$castTo<CheckRow>(),
);

function unprefixed<T>(row: CheckRow, prefix: string, columns: readonly string[]): T {
  const record = row as unknown as Record<string, unknown>;
  return Object.fromEntries(columns.map((column) => [column, record[`${prefix}${column}`]])) as T;
}

/** From the withdrawal `id` through its own proof_id to the proving factor, in SQL. */
function viaProof(tx: Tx, engine: Engine, id: string) {
  return tx
    .selectFrom('withdrawals as w')
    .innerJoin('withdrawal_proofs as p', 'p.id', 'w.proof_id')
    .innerJoin('mfa_factors as f', 'f.id', 'p.factor_id')
    .where('w.id', '=', opaqueParameter(engine, id));
}
const selectRemovals = compiledOnce(1, (tx: Tx, engine, id: string) =>
  viaProof(tx, engine, id)
    .innerJoin('factor_removals as r', 'r.factor_id', 'f.id')
    .select('r.removed_at')
    .orderBy('r.removed_at')
    .limit(100),
);
/** The enrolment entries of the account that owns the withdrawal's proving factor (sealed, or in the journal). */
const selectEnrolments = compiledOnce(2, (tx: Tx, engine, id: string, again: string) => {
  const owner = (w: string) =>
    viaProof(tx, engine, w).select(sql<string>`'customer:' || f.principal_id`.as('subject'));
  return tx
    .selectFrom('audit_log')
    .select('data')
    .where('subject', '=', owner(id))
    .where('action', 'in', ENROLMENT_ACTIONS)
    .unionAll(
      tx
        .selectFrom('audit_journal')
        .select('data')
        .where('subject', '=', owner(again))
        .where('action', 'in', ENROLMENT_ACTIONS),
    )
    .limit(ENROLMENT_READ_CAP + 1);
});

/** What one check of a withdrawal reads before it judges, read in one round trip. */
export interface CheckRows {
  readonly withdrawal: WithdrawalRow | undefined;
  readonly verdicts: VerdictRows;
  readonly proof: ProofRow | undefined;
  readonly factor: FactorRow | undefined;
  /** When the proving factor's status became removed, each time (at most 100). */
  readonly removals: string[];
  /** The key fingerprint the proving factor's enrolment recorded; undefined when none, or past the read cap. */
  readonly enrolledKeySha256: string | undefined;
  /** The epochs in force now, for the proving factor's method and owner; undefined when a row is missing. */
  readonly currentEpochs: CurrentEpochs | undefined;
}

/** The epochs a factor must have been activated under to count now (src/store/migrations/0055: they only go up). */
export interface CurrentEpochs {
  readonly mfa: number;
  readonly totp: number;
  readonly passkey: number;
  readonly recovery: number;
  /** The factor owner's own MFA epoch. */
  readonly principal: number;
}

export type ProofRow = Selectable<WithdrawalProofsTable>;
export type FactorRow = Selectable<MfaFactorsTable>;

/**
 * A withdrawal, its verdicts, its proof and the proving factor with its removals (one row), and its enrolment's
 * fingerprint, as two statements in one round trip (together), each compiled once: the proof and the factor are
 * reached through the withdrawal's own proof_id in SQL, so neither waits for the other's answer. A factor removed
 * more than once has its removals read in full, in a statement of their own.
 */
export async function readCheckRows(tx: Tx, id: string): Promise<CheckRows> {
  const [rows] = await readTogether(tx, checkRowsReads(tx, id));
  return rows;
}

/**
 * The check rows of several withdrawals (in the order given), every statement in one round trip: the reads of a
 * batch of checks in one transaction (src/services/monitor/check.ts `checkWithdrawals`).
 */
export async function readCheckRowsOf(tx: Tx, ids: readonly string[]): Promise<CheckRows[]> {
  return readTogether(tx, ...ids.map((id) => checkRowsReads(tx, id)));
}

function checkRowsReads(tx: Tx, id: string): Reads<CheckRows> {
  return {
    statements: [selectCheckRow.statement(tx, id), selectEnrolments.statement(tx, id, id)],
    decode: ([main, enrolments]) =>
      decodeCheckRows(tx, id, main as QueryResult<CheckRow>, enrolments as QueryResult<{ data: string }>),
  };
}

async function decodeCheckRows(
  tx: Tx,
  id: string,
  main: QueryResult<CheckRow>,
  enrolments: QueryResult<{ data: string }>,
): Promise<CheckRows> {
  const row = main.rows[0];
  const removalCount = row === undefined ? 0 : Number(row.removal_count);
  const removals =
    removalCount === 0
      ? []
      : removalCount === 1 && row?.removal_first !== null && row?.removal_first !== undefined
        ? [row.removal_first]
        : (await selectRemovals(tx, id)).rows.map((removal) => removal.removed_at);
  const withdrawal = row === undefined ? undefined : unprefixed<WithdrawalRow>(row, '', WITHDRAWAL_COLUMNS);
  const verdict = (prefix: 'va_' | 'vr_') =>
    row === undefined || row[`${prefix}verdict`] === null
      ? undefined
      : unprefixed<VerdictRow>(row, prefix, VERDICT_COLUMNS);
  const proof =
    row === undefined || row.p_id === null ? undefined : unprefixed<ProofRow>(row, 'p_', PROOF_COLUMNS);
  const factorRow =
    row === undefined || row.f_id === null ? undefined : unprefixed<FactorRow>(row, 'f_', FACTOR_COLUMNS);
  const entries = enrolments.rows;
  let enrolledKeySha256: string | undefined;
  if (factorRow !== undefined && entries.length <= ENROLMENT_READ_CAP)
    for (const entry of entries) {
      enrolledKeySha256 = fingerprintIn(entry.data, factorRow.id);
      if (enrolledKeySha256 !== undefined) break;
    }
  const epoch = (value: number | null | undefined) =>
    value === null || value === undefined ? undefined : Number(value);
  const [mfa, totp, passkey, recovery, principal] = [
    epoch(row?.e_mfa_epoch),
    epoch(row?.e_totp_epoch),
    epoch(row?.e_passkey_epoch),
    epoch(row?.e_recovery_epoch),
    epoch(row?.o_mfa_epoch),
  ];
  const currentEpochs =
    mfa === undefined ||
    totp === undefined ||
    passkey === undefined ||
    recovery === undefined ||
    principal === undefined
      ? undefined
      : { mfa, totp, passkey, recovery, principal };
  return {
    withdrawal,
    verdicts: { approve: verdict('va_'), reject: verdict('vr_') },
    proof,
    factor: factorRow,
    removals,
    enrolledKeySha256,
    currentEpochs,
  };
}

/**
 * What a check reads once it has the withdrawal and its proof, in one round trip: the claim of the TOTP step the
 * evidence names (when it names one), the first withdrawal `token` proved (when the caller already knows which
 * token the proof will have, if it verifies), and the account's journal (monitor-journal.ts).
 */
export interface JudgingQuery {
  readonly accountId: string;
  readonly asset: string;
  readonly journalBound: number;
  readonly totpStep: number | undefined;
  readonly token: string | undefined;
}

export interface JudgingRows {
  readonly totpClaim: Pick<TotpClaimsTable, 'purpose' | 'factor_id'> | undefined;
  /** Undefined when no token was asked about; `null` when nobody used it. */
  readonly tokenUser: string | null | undefined;
  readonly journal: AccountJournal;
}

export async function readJudgingRows(tx: Tx, query: JudgingQuery): Promise<JudgingRows> {
  const [rows] = await readTogether(tx, judgingReads(tx, query));
  return rows;
}

/** The judging rows of several checks (in the order given; undefined where none is asked), in one round trip. */
export async function readJudgingRowsOf(
  tx: Tx,
  queries: readonly (JudgingQuery | undefined)[],
): Promise<(JudgingRows | undefined)[]> {
  const asked = queries.filter((query): query is JudgingQuery => query !== undefined);
  const rows = await readTogether(tx, ...asked.map((query) => judgingReads(tx, query)));
  let next = 0;
  return queries.map((query) => (query === undefined ? undefined : rows[next++]));
}

function judgingReads(tx: Tx, query: JudgingQuery): Reads<JudgingRows> {
  const journal = accountJournalReads(tx, query.accountId, query.asset, query.journalBound);
  const { totpStep, token } = query;
  if (totpStep === undefined || token === undefined)
    return {
      statements: [
        journal.statements[0]!,
        totpStep === undefined
          ? noRows.statement(tx)
          : selectTotpClaim.statement(tx, query.accountId, String(totpStep)),
        token === undefined ? noRows.statement(tx) : selectProofUse.statement(tx, token),
      ],
      decode: async ([journalRows, claims, uses]) => ({
        journal: await journal.decode([journalRows!]),
        totpClaim: claims!.rows[0] as Pick<TotpClaimsTable, 'purpose' | 'factor_id'> | undefined,
        tokenUser:
          token === undefined
            ? undefined
            : ((uses!.rows[0] as { withdrawal_id: string } | undefined)?.withdrawal_id ?? null),
      }),
    };
  return {
    statements: [
      journal.statements[0]!,
      selectClaimAndUse.statement(tx, query.accountId, String(totpStep), token),
    ],
    decode: async ([journalRows, result]) => {
      const claimAndUse = result as QueryResult<{ part: 'claim' | 'use'; a: string; b: string | null }>;
      const claim = claimAndUse.rows.find((row) => row.part === 'claim');
      const use = claimAndUse.rows.find((row) => row.part === 'use');
      return {
        journal: await journal.decode([journalRows!]),
        totpClaim: claim === undefined ? undefined : { purpose: claim.a, factor_id: claim.b as string },
        tokenUser: use?.a ?? null,
      };
    },
  };
}

/** Nothing: the place of a read a check does not need (one statement fewer than reading nothing in SQL). */
const noRows = { statement: (_tx: Tx): Compilable<unknown> => ({ compile: () => NO_ROWS }) };
const NO_ROWS = CompiledQuery.raw('select 1 where 1 = 0', []);

/** The claim of the TOTP step (one row at most: its key) and the token's first use (its key), in one statement. */
const selectClaimAndUse = compiledOnce(
  3,
  (tx: Tx, _engine, principalId: string, step: string, token: string) => ({
    compile: () =>
      sql<{ part: 'claim' | 'use'; a: string; b: string | null }>`
        select 'claim' as part, c.purpose as a, c.factor_id as b from totp_claims c
        where c.principal_id = ${principalId} and c.step = ${step}
        union all
        select 'use', u.withdrawal_id, null from monitor_proof_uses u where u.token = ${token}`.compile(tx),
  }),
);

/**
 * The writes that end a check whose reads showed no verdict of this kind, and its feed entries up to `feedSeq`
 * leaving: sent without waiting (writeBehind), so they leave with the COMMIT. On PostgreSQL they are one statement
 * (data-modifying CTEs), on SQLite each its own. A verdict inserted meanwhile by another monitor fails the
 * transaction at COMMIT (its key), and the check is retried on the next pass, which then reads it.
 */
export async function writeCheckOutcome(
  tx: Tx,
  outcome: {
    verdict: VerdictRow;
    proofUse?: { token: string; withdrawal_id: string; at: string };
    feed?: { withdrawal_id: string; seq: number };
  },
): Promise<void> {
  const { verdict, proofUse, feed } = outcome;
  if (engineOf(tx) === 'postgres') {
    const verdictArgs = VERDICT_COLUMNS.map((column) => verdict[column]);
    const feedArgs = feed === undefined ? [] : [feed.withdrawal_id, String(feed.seq)];
    const useArgs = proofUse === undefined ? [] : [proofUse.token, proofUse.withdrawal_id, proofUse.at];
    await writeBehind(
      tx,
      outcomeStatement(feed !== undefined, proofUse !== undefined)(tx, [
        ...feedArgs,
        ...useArgs,
        ...verdictArgs,
      ]),
    );
    return;
  }
  await writeBehind(
    tx,
    ...(feed === undefined ? [] : [deleteFeed.statement(tx, feed.withdrawal_id, String(feed.seq))]),
    ...(proofUse === undefined ? [] : [insertProofUse.statement(tx, proofUse)]),
    insertVerdict.statement(tx, verdict),
  );
}

const insertProofUse = compiledInsert('monitor_proof_uses', ['token', 'withdrawal_id', 'at']);
const insertVerdict = compiledInsert('monitor_verdicts', VERDICT_COLUMNS);

/** PostgreSQL: the feed entries' DELETE and the proof use's INSERT as CTEs of the verdict's INSERT, by shape. */
const outcomeStatements = new Map<string, CompiledQuery>();
function outcomeStatement(withFeed: boolean, withUse: boolean) {
  const key = `${withFeed}:${withUse}`;
  let compiled = outcomeStatements.get(key);
  if (compiled === undefined) {
    const parts: string[] = [];
    let n = 0;
    const next = () => `$${++n}`;
    if (withFeed)
      parts.push(
        `f as (delete from monitor_feed where withdrawal_id = ${next()} and seq <= ${next()}::bigint)`,
      );
    if (withUse)
      parts.push(
        `u as (insert into monitor_proof_uses (token, withdrawal_id, at) values (${next()}, ${next()}, ${next()}))`,
      );
    const values = VERDICT_COLUMNS.map(() => next()).join(', ');
    const text = `${parts.length === 0 ? '' : `with ${parts.join(', ')} `}insert into monitor_verdicts (${VERDICT_COLUMNS.join(', ')}) values (${values})`;
    compiled = CompiledQuery.raw(text, []);
    outcomeStatements.set(key, compiled);
  }
  const shape = compiled;
  return (_tx: Tx, parameters: readonly unknown[]): Compilable<unknown> => ({
    compile: () => ({ ...shape, parameters }),
  });
}

/** The first withdrawal a proof token proved, if any (read before claiming it: the table is append-only). */
export async function proofTokenUser(tx: Tx, token: string): Promise<string | undefined> {
  const row = await selectProofUse(tx, token);
  return row.rows[0]?.withdrawal_id;
}

const selectProofUse = compiledOnce(1, (tx: Tx, _engine, token: string) =>
  tx.selectFrom('monitor_proof_uses').select('withdrawal_id').where('token', '=', token),
);
