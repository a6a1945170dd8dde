import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../src/core/audit-hash.ts';
import { hashOpaqueToken, newOpaqueToken } from '../src/core/identity/opaque-token.ts';
import { newId } from '../src/core/ids.ts';
import { withdrawalDigest } from '../src/core/withdrawals/digest.ts';
import { FACTOR_COLUMNS } from '../src/store/identity/factors.ts';
import { ONE_TIME_TOKEN_COLUMNS } from '../src/store/identity/one-time-tokens.ts';
import { PRINCIPAL_COLUMNS } from '../src/store/identity/principals.ts';
import { OUTBOX_COLUMNS } from '../src/store/outbox.ts';
import { EVENT_COLUMNS, PROOF_COLUMNS, WITHDRAWAL_COLUMNS } from '../src/store/withdrawals.ts';
import { LEDGER_STATEMENTS } from './ledger-floor.ts';
import type { FloorDriver, FloorSession, Row } from './support-floor-driver.ts';

/*
 * The floor for the pipeline benchmark: per withdrawal, the statements the app issues for
 * POST /v1/withdrawals and POST /v1/withdrawals/:id/confirm, with the same text, in the same order and the same
 * transactions, sent straight through the driver (support-floor-driver.ts: on SQLite in commit groups as the
 * app's, a group's first transaction without a savepoint; on PostgreSQL on pipelined connections, in the app's
 * socket writes: BEGIN with the first statement, the reads the app sends together sent together, the writes it sends
 * behind sent behind, leaving with the next statement or the COMMIT). The benchmark traces one create + confirm of
 * each (the app's handle and the floor's driver both count what they send) and reports where the two lists differ,
 * statement by statement and, on PostgreSQL, write by write, so a change to the app's statements shows up as a floor
 * that no longer matches. Included: the session lookup of both requests (an autocommit each) and the session touch
 * (once per withdrawal here, the clock moves 61 s between rounds: the first statement of the create's transaction,
 * sent behind), the create transaction (the entry with the balance, cooling setting and covering halt asked of it;
 * the withdrawal, its event and the audit entry sent behind), the confirm transaction (the rate-limit upsert and
 * every read in one batch: the withdrawal locked with its destination's use and its asset's price asked of it, the
 * principal locked, the factors with the epochs, the hold's accounts and the entry through the withdrawal, both
 * settings in one statement, the day's earlier withdrawals; then the TOTP step claim, the hold's insert and totals
 * together, and behind: the proof, the move and its two events, the audit entry, the notice's token and outbox
 * rows) and the digest's SHA-256; the audit entries go to the journal and are chained by sealAudit at the end of
 * each round, inside the round's time, as the app's are. Left out: HTTP, JSON schemas, Kysely, TOTP HMACs, the
 * screening and request-check logic, email rendering (a pre-rendered body of the real size is written) and every
 * check whose outcome is known here.
 */

export const SESSION_LOOKUP = `select "s"."id", "s"."principal_id", "p"."kind", "p"."role", "s"."aal", "s"."csrf_hash", "s"."created_at", "s"."last_seen_at", "s"."ended_at", "s"."global_epoch" as "session_global_epoch", "s"."principal_epoch" as "session_principal_epoch", "e"."session_epoch" as "current_global_epoch", "p"."session_epoch" as "current_principal_epoch", "p"."locked_at", "s"."device_id" from "sessions" as "s" inner join "principals" as "p" on "p"."id" = "s"."principal_id" inner join "security_epochs" as "e" on true where "s"."token_hash" = ?`;
const quoted = (columns: readonly string[], prefix = '') => columns.map((c) => `${prefix}"${c}"`).join(', ');
const insert = (table: string, columns: readonly string[], suffix = '') =>
  `insert into "${table}" (${quoted(columns)}) values (${columns.map(() => '?').join(', ')})${suffix}`;
const MOVE_COLUMNS = [
  'device_id',
  'first_use',
  'move_id',
  'proof_id',
  'reason',
  'release_after',
  'screening',
  'session_id',
  'usd_price',
  'usd_price_at',
  'usd_price_source',
  'usd_value',
];
const ENTRY_COLUMNS = [
  'id',
  'account_id',
  'network',
  'address',
  'address_type',
  'label',
  'cooling_ms',
  'created_at',
  'removed_at',
];
const ACCOUNT_COLUMNS = [
  'id',
  'owner_id',
  'asset',
  'kind',
  'debits_must_not_exceed_credits',
  'posted_debits',
  'posted_credits',
  'pending_debits',
  'pending_credits',
  'created_at',
];
const EPOCH_COLUMNS = ['session_epoch', 'mfa_epoch', 'totp_epoch', 'passkey_epoch', 'recovery_epoch'];

/** The entry, with the balance, the cooling setting in force and the first covering halt asked of it. */
const REQUEST_SUBJECT = (() => {
  const balance = (column: string) =>
    `(select "a"."${column}" from "ledger_accounts" as "a" where "a"."owner_id" = ? and "a"."asset" = ? and "a"."kind" = ?) as "${column}"`;
  const cooling = (column: string, as: string) =>
    `(select "s"."${column}" from "security_settings_history" as "s" where "s"."principal_id" = ? and "s"."setting" = ? and "s"."effective_at" <= ? order by "s"."effective_at" desc, "s"."id" desc limit ?) as "${as}"`;
  const halt = (column: string) =>
    `(select "h"."${column}" from "halts" as "h" where "h"."lifted_at" is null and ("h"."scope" = ? or ("h"."scope" = ? and "h"."asset" = ? and ("h"."network" is null or "h"."network" = ?)) or ("h"."scope" = ? and "h"."account_id" = ?)) order by "h"."created_at", "h"."id" limit ?) as "halt_${column}"`;
  const asked = [
    balance('posted_credits'),
    balance('posted_debits'),
    balance('pending_debits'),
    cooling('value', 'cooling_value'),
    cooling('effective_at', 'cooling_at'),
    halt('id'),
    halt('scope'),
    halt('reason'),
    '(select count(*) as "n" from "halt_control" where "id" = ?) as "control_rows"',
  ];
  return `select ${quoted(ENTRY_COLUMNS, '"e".')}, ${asked.join(', ')} from "address_book_entries" as "e" where "e"."id" = ? and "e"."account_id" = ?`;
})();

function statements(engine: 'sqlite' | 'postgres') {
  const forUpdate = engine === 'postgres' ? ' for update' : '';
  const price = (column: string, as: string) =>
    `(select "pp"."${column}" from "price_points" as "pp" where "pp"."asset" = "w"."asset" and "pp"."at" <= ? order by "pp"."at" desc limit ?) as "${as}"`;
  const setting = (column: string, as: string) =>
    `(select "h"."${column}" from "security_settings_history" as "h" where "h"."principal_id" = ? and "h"."setting" = ? and "h"."effective_at" <= ? order by "h"."effective_at" desc, "h"."id" desc limit ?) as "${as}"`;
  // The withdrawal (locked) with the principal (locked), the entry, the settings, the session and device, the
  // rule sets' revision, and whether the destination was paid before and its asset's price asked of it.
  const confirmationRow = `select ${quoted(WITHDRAWAL_COLUMNS, '"w".')}, ${PRINCIPAL_COLUMNS.map((c) => `"p"."${c}" as "p_${c}"`).join(', ')}, ${ENTRY_COLUMNS.map((c) => `"e"."${c}" as "e_${c}"`).join(', ')}, "s"."id" as "sd_session_id", "s"."created_at" as "sd_session_created_at", "s"."device_id" as "sd_device_id", "d"."first_seen_at" as "sd_device_first_seen_at", "d"."integrity" as "sd_device_integrity", exists (select "u"."id" from "withdrawals" as "u" where "u"."destination_id" = "w"."destination_id" and "u"."id" <> "w"."id" and "u"."state" in (?, ?, ?, ?)) as "destination_used", ${price('usd_price', 'price_usd')}, ${price('at', 'price_at')}, ${price('source', 'price_source')}, ${setting('value', 'cooling_value')}, ${setting('effective_at', 'cooling_effective_at')}, ${setting('value', 'anti_phishing_value')}, ${setting('effective_at', 'anti_phishing_effective_at')}, (select revision || ':' || nonce as "r" from "rule_set_revision" where "id" = 1) as "rule_set_revision" from "withdrawals" as "w" inner join "principals" as "p" on "p"."id" = ? left join "address_book_entries" as "e" on "e"."id" = "w"."destination_id" and "e"."account_id" = ? left join "sessions" as "s" on "s"."id" = ? left join "devices" as "d" on "d"."id" = "s"."device_id" where "w"."id" = ?${engine === 'postgres' ? ' for update of "w", "p"' : ''}`;
  const postgresOnly = {
    // Fan-in over the built-in set's window: on PostgreSQL the destination's advisory lock first (key as core's).
    fanInLock: `select pg_advisory_xact_lock(('x' || encode(substr(sha256(convert_to('drawbridge/fan-in/v1' || chr(10) || w.network || ':' || (case when w.network = 'ethereum' then lower(w.destination_address) else w.destination_address end), 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint)::text as "locked" from "withdrawals" as "w" where "w"."id" = ?`,
    // PostgreSQL: the claim and its history row in one statement.
    claimTotpStepWithHistory:
      'with claimed as ( update principals set last_totp_step = ?::bigint, mfa_failures = 0, totp_last_step_session = ?::text, totp_last_step_ip = ?::text where id = ?::text and last_totp_step < ?::bigint returning id) insert into totp_claims (principal_id, step, purpose, factor_id, session_id, ip, claimed_at) select id, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::text from claimed',
  };
  return {
    sessionLookup: SESSION_LOOKUP,
    touchSession: 'update "sessions" set "last_seen_at" = ? where "id" = ?',
    requestSubject: REQUEST_SUBJECT,
    insertWithdrawal: insert('withdrawals', WITHDRAWAL_COLUMNS),
    insertEvent: insert('withdrawal_events', EVENT_COLUMNS),
    insertJournal: insert('audit_journal', ['id', 'at', 'actor', 'action', 'subject', 'data']),
    hitRateLimits:
      'insert into "rate_limits" ("bucket", "window_start", "hits") values (?, ?, ?), (?, ?, ?) on conflict ("bucket", "window_start") do update set "hits" = rate_limits.hits + 1 returning "bucket", "hits"',
    confirmationRow,
    factors: `select ${quoted(FACTOR_COLUMNS, '"f".')}, ${EPOCH_COLUMNS.map((c) => `"e"."${c}" as "epoch_${c}"`).join(', ')} from "mfa_factors" as "f" inner join "security_epochs" as "e" on "e"."id" = ? where "f"."principal_id" = ? and "f"."status" = ? and "f"."principal_epoch" = (select "mfa_epoch" from "principals" where "id" = ?) and ("f"."global_epoch" = "e"."mfa_epoch" or (select "kind" from "principals" where "id" = ?) = ?) and "f"."method" = ? order by "f"."created_at", "f"."id" limit ?`,
    // The customer's accounts in the withdrawal's asset, locked: the hold's two.
    holdAccounts: `select ${quoted(ACCOUNT_COLUMNS)} from "ledger_accounts" where "owner_id" = ? and "asset" = (select "asset" from "withdrawals" where "id" = ?) and "kind" in (?, ?) order by "id"${forUpdate}`,
    confirmedSince:
      'select "asset", "amount", "created_at" from "withdrawals" where "account_id" = ? and "id" <> ? and "created_at" >= ? and "state" in (?, ?, ?, ?, ?, ?, ?, ?) order by "created_at" limit ?',
    fanInCount:
      'select count(*) as "n" from (select distinct "f"."account_id" from "withdrawals" as "f" where "f"."network" = (select "w"."network" from "withdrawals" as "w" where "w"."id" = ?) and "f"."destination_address" = (select "w"."destination_address" from "withdrawals" as "w" where "w"."id" = ?) and "f"."created_at" >= ? and "f"."proof_id" is not null and "f"."account_id" <> ? limit ?) as "t"',
    claimTotpStep:
      'update "principals" set "last_totp_step" = ?, "mfa_failures" = ?, "totp_last_step_session" = ?, "totp_last_step_ip" = ? where "id" = ? and "last_totp_step" < ?',
    insertTotpClaim: insert('totp_claims', [
      'principal_id',
      'step',
      'purpose',
      'factor_id',
      'session_id',
      'ip',
      'claimed_at',
    ]),
    insertEvaluation: insert('rule_evaluations', [
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
    ]),
    // The customer's in-flight account is opened by its first withdrawal (the warm-up round's).
    ledgerAccountByOwner:
      'select * from "ledger_accounts" where "owner_id" = ? and "asset" = ? and "kind" = ?',
    openLedgerAccount: insert(
      'ledger_accounts',
      ACCOUNT_COLUMNS,
      ' on conflict ("owner_id", "asset", "kind") do nothing',
    ),
    lockAccounts: `${LEDGER_STATEMENTS.lockAccounts}${forUpdate}`,
    insertTransfer: LEDGER_STATEMENTS.insert,
    updateTotals: LEDGER_STATEMENTS.updateTotals,
    insertProof: insert('withdrawal_proofs', PROOF_COLUMNS),
    moveToQueued: `update "withdrawals" set ${MOVE_COLUMNS.map((c) => `"${c}" = ?`).join(', ')}, "state" = ?, "updated_at" = ? where "id" = ? and "state" = ?`,
    // Both hops' events in one statement, selected from the row; the state entered only if the update wrote this
    // move's id (a move that did not land inserts a NULL state, which the NOT NULL constraint refuses).
    insertEventsIfMoved: `insert into "withdrawal_events" (${quoted(EVENT_COLUMNS)}) ${[1, 2]
      .map(
        () =>
          'select ? as "id", ? as "withdrawal_id", ? as "at", ? as "from_state", case when "move_id" = ? then ? end as "to_state", ? as "actor", ? as "reason" from "withdrawals" where "id" = ?',
      )
      .join(' union all ')}`,
    insertOneTimeToken: insert('one_time_tokens', ONE_TIME_TOKEN_COLUMNS),
    insertOutbox: insert('outbox', OUTBOX_COLUMNS),
    ...(engine === 'postgres' ? postgresOnly : {}),
  } as const;
}

export function pipelineStatements(engine: 'sqlite' | 'postgres'): Readonly<Record<string, string>> {
  return statements(engine);
}

export interface FloorCustomer {
  readonly id: string;
  readonly email: string;
  readonly tokenHash: string;
  readonly destinationId: string;
}

export interface FloorRequest {
  readonly customer: FloorCustomer;
  readonly now: () => Date;
  readonly ip: string;
  readonly totpStep: number;
  /** A rendered confirmation email of the size the app writes. */
  readonly email: { readonly subject: string; readonly text: string; readonly html: string };
  /** Called between the create and the confirm (the statement sample counts each apart). */
  readonly created?: () => void;
}

const DAY_MS = 24 * 60 * 60_000;
// The built-in rule set's fan-in window (core/risk/rule-sets.ts defaultRuleSetConfig).
const FAN_IN_WINDOW_MS = 3600 * 1000;
const AMOUNT = '10000';
const FEE = '10000';
const CANCEL_WINDOW_MS = 10 * 60_000;
const FIRST_USE_CANCEL_WINDOW_MS = 2 * 60_000;
// The screening record the minimal rule set writes, for a row of the real size.
const SCREENING_JSON = JSON.stringify(
  ['account_not_locked', 'security_change_lock', 'destination_cooled', 'daily_usd_limit'].map((rule) => ({
    rule,
    version: 1,
    outcome: 'approve',
    reason: `${rule.replace(/_/g, ' ')}: approved`,
  })),
);
// The facts an evaluation records, of the real size.
const EVALUATION_FACTS = JSON.stringify({
  now: '2026-01-01T00:00:00.000Z',
  accountLockedAt: null,
  withdrawalsLockedUntil: null,
  destinationUsableFrom: '2026-01-01T00:00:00.000Z',
  destinationRemoved: false,
  usdValue: '6.00',
  usdLast24h: '0.00',
  dailyLimitUsd: '10000.00',
  network: 'bitcoin',
  destinationAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  countLast24h: 0,
  session: { id: 'bench-session', createdAt: '2026-01-01T00:00:00.000Z' },
  device: null,
  amountWithFee: '20000',
  availableBefore: '100000000',
  firstUse: true,
  fanIn: [{ windowSeconds: 3600, otherAccounts: 0, overCap: false }],
});
const CONFIRMED_STATES = [
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
  'released',
  'broadcast',
  'errored',
  'completed',
];

function one(rows: Row[], what: string): Row {
  const row = rows[0];
  if (row === undefined) throw new Error(`floor: no ${what}`);
  return row;
}

/** The journal row of an audit entry; the round's sealing (sealAudit, timed with the round) chains it. */
function journalRow(at: Date, entry: { actor: string; action: string; subject: string; data: JsonObject }) {
  return [newId(), at.toISOString(), entry.actor, entry.action, entry.subject, JSON.stringify(entry.data)];
}

/** A session touch that is due: written as the first statement of the request's transaction (as the app's). */
interface Touch {
  readonly sessionId: unknown;
  readonly at: string;
}

/** The session lookup (an autocommit), and its touch when last_seen_at is 30 s old or more (as authenticate does). */
async function authenticate(
  driver: FloorDriver,
  request: FloorRequest,
): Promise<{ touch: Touch | undefined; sessionId: unknown }> {
  const session = one(await driver.rows('sessionLookup', [request.customer.tokenHash]), 'session');
  const now = request.now();
  return {
    sessionId: session.id,
    touch:
      now.getTime() - Date.parse(String(session.last_seen_at)) >= 30_000
        ? { sessionId: session.id, at: now.toISOString() }
        : undefined,
  };
}

/** inRequestTransaction: the due touch rides in the transaction, sent behind as its first statement. */
function inRequestTransaction<T>(
  driver: FloorDriver,
  touch: Touch | undefined,
  work: (s: FloorSession) => Promise<T>,
): Promise<T> {
  return driver.transaction(async (s) => {
    if (touch !== undefined) await s.behind('touchSession', [touch.at, touch.sessionId]);
    return work(s);
  });
}

/**
 * The hold's two accounts as the batch read them (locked on PostgreSQL), or, when one is missing (the customer's
 * first withdrawal, the warm-up round's), as the app opens them: each read by owner, the missing one inserted and
 * read again, then both read and locked by id.
 */
async function accountsForHold(s: FloorSession, held: Row[], owner: string, at: string): Promise<[Row, Row]> {
  const kinds = ['customer', 'withdrawal_in_flight'] as const;
  const found = kinds.map((kind) => held.find((row) => row.kind === kind));
  if (found[0] !== undefined && found[1] !== undefined) return [found[0], found[1]];
  const ids: string[] = [];
  for (const kind of kinds) {
    let row = (await s.rows('ledgerAccountByOwner', [owner, 'BTC', kind]))[0];
    if (row === undefined) {
      // Both accounts may never go below zero (debits_must_not_exceed_credits).
      await s.run('openLedgerAccount', [newId(), owner, 'BTC', kind, 1, '0', '0', '0', '0', at]);
      row = one(await s.rows('ledgerAccountByOwner', [owner, 'BTC', kind]), `${kind} account`);
    }
    ids.push(String(row.id));
  }
  const locked = await s.rows('lockAccounts', [...ids].sort());
  const byId = (accountId: string) =>
    one(
      locked.filter((row) => row.id === accountId),
      'locked account',
    );
  return [byId(ids[0]!), byId(ids[1]!)];
}

/** One withdrawal, created and confirmed, as the app's statements make it. */
export async function floorWithdrawal(driver: FloorDriver, request: FloorRequest): Promise<void> {
  const { customer } = request;
  const actor = `customer:${customer.id}`;
  const id = newId();
  const { touch: createTouch } = await authenticate(driver, request);
  const digest = await inRequestTransaction(driver, createTouch, async (s) => {
    const now = request.now();
    const at = now.toISOString();
    const halt = ['global', 'asset', 'BTC', 'bitcoin', 'account', customer.id, 1];
    const balance = [customer.id, 'BTC', 'customer'];
    const cooling = [customer.id, 'address_cooling_ms', at, 1];
    const entry = one(
      await s.rows('requestSubject', [
        ...balance,
        ...balance,
        ...balance,
        ...cooling,
        ...cooling,
        ...halt,
        ...halt,
        ...halt,
        1,
        customer.destinationId,
        customer.id,
      ]),
      'address-book entry',
    );
    const available =
      BigInt(String(entry.posted_credits)) -
      BigInt(String(entry.posted_debits)) -
      BigInt(String(entry.pending_debits));
    if (available < BigInt(AMOUNT) + BigInt(FEE)) throw new Error('floor: the customer ran out of funds');
    const nonce = randomBytes(16).toString('base64url');
    const terms = {
      withdrawal_id: id,
      account_id: customer.id,
      asset: 'BTC',
      network: 'bitcoin',
      amount: AMOUNT,
      fee: FEE,
      destination: String(entry.address),
      nonce,
    };
    const digest = withdrawalDigest(terms);
    const summary = 'Send 0.0001 BTC to bc1qw508...v8f3t4 (Cold wallet), fee 0.0001 BTC';
    const expires = new Date(now.getTime() + 5 * 60_000).toISOString();
    const row: Record<(typeof WITHDRAWAL_COLUMNS)[number], unknown> = {
      id,
      account_id: customer.id,
      asset: 'BTC',
      network: 'bitcoin',
      amount: AMOUNT,
      fee: FEE,
      destination_id: entry.id,
      destination_address: entry.address,
      destination_label: entry.label,
      nonce,
      digest,
      summary,
      state: 'awaiting_confirmation',
      proof_id: null,
      confirm_failures: 0,
      expires_at: expires,
      release_after: null,
      time_locked_until: null,
      first_use: 0,
      screening: null,
      attestation: null,
      txid: null,
      reason: null,
      move_id: null,
      released_at: null,
      usd_value: null,
      usd_price: null,
      usd_price_at: null,
      usd_price_source: null,
      session_id: null,
      device_id: null,
      created_at: at,
      updated_at: at,
    };
    // The withdrawal, its first event and the audit entry go out behind, with the COMMIT.
    await s.behind(
      'insertWithdrawal',
      WITHDRAWAL_COLUMNS.map((column) => row[column]),
    );
    await s.behind('insertEvent', [newId(), id, at, null, 'awaiting_confirmation', actor, null]);
    const data = { ...terms, destination: String(entry.address), digest, ip: request.ip };
    await s.behind(
      'insertJournal',
      journalRow(now, { actor, action: 'withdrawal.requested', subject: `withdrawal:${id}`, data }),
    );
    return digest;
  });
  request.created?.();

  const { touch: confirmTouch, sessionId } = await authenticate(driver, request);
  await inRequestTransaction(driver, confirmTouch, async (s) => {
    const now = request.now();
    const at = now.toISOString();
    const window = `${new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString()}`;
    const [firstBucket, secondBucket] = [`mfa_per_account:${customer.id}`, `mfa_per_ip:${request.ip}`].sort();
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    const fanInSince = new Date(now.getTime() - FAN_IN_WINDOW_MS).toISOString();
    const postgres = driver.engine === 'postgres';
    const setting = (name: string) => [customer.id, name, at, 1];
    // The attempt counted and every read the confirmation needs, fan-in under its lock, in one batch (one write on
    // PostgreSQL).
    const answers = await s.together([
      ['hitRateLimits', [firstBucket, window, 1, secondBucket, window, 1]],
      [
        'confirmationRow',
        [
          'queued',
          'released',
          'broadcast',
          'completed',
          at,
          1,
          at,
          1,
          at,
          1,
          ...setting('address_cooling_ms'),
          ...setting('address_cooling_ms'),
          ...setting('anti_phishing_code'),
          ...setting('anti_phishing_code'),
          customer.id,
          customer.id,
          sessionId,
          id,
        ],
      ],
      ['factors', [1, customer.id, 'active', customer.id, customer.id, 'operator', 'totp', 100]],
      ['holdAccounts', [customer.id, id, 'customer', 'withdrawal_in_flight']],
      ['confirmedSince', [customer.id, id, since, ...CONFIRMED_STATES, 10_001]],
      ...(postgres ? ([['fanInLock', [id]]] as const) : []),
      ['fanInCount', [id, id, fanInSince, customer.id, 10_001]],
    ]);
    const [limits, withdrawals, factors, held] = answers;
    one(answers[answers.length - 1]!.rows, 'fan-in count');
    // As the app's rules: 10 a minute per account, 30 per IP.
    const limit = (bucket: unknown) => (String(bucket).startsWith('mfa_per_account:') ? 10 : 30);
    if (limits!.rows.some((row) => Number(row.hits) > limit(row.bucket)))
      throw new Error('floor: rate limited');
    const withdrawal = one(withdrawals!.rows, 'withdrawal');
    if (withdrawal.e_id === null) throw new Error('floor: no address-book entry');
    const factor = one(factors!.rows, 'TOTP factor');
    const usedBefore = withdrawal.destination_used === true || Number(withdrawal.destination_used) === 1;
    const claimant = ['bench-session', '127.0.0.1'];
    const claimed = postgres
      ? await s.run('claimTotpStepWithHistory', [
          request.totpStep,
          ...claimant,
          customer.id,
          request.totpStep,
          request.totpStep,
          `withdrawal:${id}`,
          factor.id,
          ...claimant,
          at,
        ])
      : await s.run('claimTotpStep', [request.totpStep, 0, ...claimant, customer.id, request.totpStep]);
    if (claimed !== 1) throw new Error('floor: the TOTP step was used before');
    if (!postgres)
      await s.run('insertTotpClaim', [
        customer.id,
        request.totpStep,
        `withdrawal:${id}`,
        factor.id,
        ...claimant,
        at,
      ]);
    const [d, c] = await accountsForHold(s, held!.rows, customer.id, at);
    const hold = BigInt(AMOUNT) + BigInt(FEE);
    const available =
      BigInt(String(d.posted_credits)) - BigInt(String(d.posted_debits)) - BigInt(String(d.pending_debits));
    if (available < hold) throw new Error('floor: the customer ran out of funds');
    const plus = (row: Row, column: string, by: bigint) => (BigInt(String(row[column])) + by).toString();
    // The hold: its insert and both accounts' totals together.
    const [inserted] = await s.together([
      ['insertTransfer', [id, 'pending', d.id, c.id, 'BTC', hold.toString(), null, 'withdrawal', digest, at]],
      [
        'updateTotals',
        [
          d.id,
          String(d.posted_debits),
          c.id,
          String(c.posted_debits),
          d.id,
          String(d.posted_credits),
          c.id,
          String(c.posted_credits),
          d.id,
          plus(d, 'pending_debits', hold),
          c.id,
          String(c.pending_debits),
          d.id,
          String(d.pending_credits),
          c.id,
          plus(c, 'pending_credits', hold),
          d.id,
          c.id,
        ],
      ],
    ]);
    if (inserted!.changes !== 1) throw new Error('floor: the hold exists');
    // Behind, with the COMMIT: the proof, the move into screening and on to queued (one update, an event per hop
    // in one insert), the audit entry, the notice's token and outbox row.
    const proofId = newId();
    const evidence = JSON.stringify({
      v: 1,
      withdrawal_id: id,
      digest,
      method: 'totp',
      factor_id: factor.id,
      step: request.totpStep,
    });
    await s.behind('insertEvaluation', [
      newId(),
      id,
      'builtin',
      0,
      'active',
      'approve',
      'approve',
      0,
      SCREENING_JSON,
      EVALUATION_FACTS,
      at,
    ]);
    await s.behind('insertProof', [
      proofId,
      id,
      customer.id,
      digest,
      'totp',
      factor.id,
      evidence,
      hashOpaqueToken(evidence),
      at,
    ]);
    const moveId = newId();
    const releaseAfter = new Date(
      now.getTime() + (usedBefore ? CANCEL_WINDOW_MS : FIRST_USE_CANCEL_WINDOW_MS),
    ).toISOString();
    await s.behind('moveToQueued', [
      null,
      usedBefore ? 0 : 1,
      moveId,
      proofId,
      null,
      releaseAfter,
      SCREENING_JSON,
      sessionId,
      '60000',
      at,
      'bench',
      '0.06',
      'queued',
      at,
      id,
      'awaiting_confirmation',
    ]);
    const event = (from: string, to: string, who: string, reason: string | null) => [
      newId(),
      id,
      at,
      from,
      moveId,
      to,
      who,
      reason,
      id,
    ];
    await s.behind('insertEventsIfMoved', [
      ...event('awaiting_confirmation', 'screening', actor, 'confirmed with totp'),
      ...event('screening', 'queued', 'system:screening', null),
    ]);
    await s.behind(
      'insertJournal',
      journalRow(now, {
        actor,
        action: 'withdrawal.confirmed',
        subject: `withdrawal:${id}`,
        data: { method: 'totp', digest, outcome: 'queued' },
      }),
    );
    const lockToken = newOpaqueToken();
    const expires = new Date(now.getTime() + 7 * DAY_MS).toISOString();
    await s.behind('insertOneTimeToken', [
      newId(),
      customer.id,
      'lock_account',
      hashOpaqueToken(lockToken),
      '{"event":"withdrawal.confirmed"}',
      at,
      expires,
      null,
    ]);
    const payload = JSON.stringify({ event: 'withdrawal.confirmed', account_id: customer.id, at });
    const { subject, text, html } = request.email;
    await s.behind('insertOutbox', [
      newId(),
      'email',
      customer.email,
      customer.id,
      'withdrawal.confirmed',
      1,
      subject,
      text,
      html,
      payload,
      'pending',
      0,
      at,
      null,
      null,
      at,
    ]);
  });
}
