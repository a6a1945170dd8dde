import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../src/core/audit-hash.ts';
import { hashOpaqueToken, newOpaqueToken } from '../src/core/identity/opaque-token.ts';
import { newId } from '../src/core/ids.ts';
import { withdrawalDigest } from '../src/core/withdrawals/digest.ts';
import { ONE_TIME_TOKEN_COLUMNS } from '../src/store/identity/one-time-tokens.ts';
import { OUTBOX_COLUMNS } from '../src/store/outbox.ts';
import { EVENT_COLUMNS, PROOF_COLUMNS, WITHDRAWAL_COLUMNS } from '../src/store/withdrawals.ts';
import { LEDGER_STATEMENTS } from './ledger-floor.ts';
import type { FloorDriver, FloorSession, Row } from './support-floor-driver.ts';

/*
 * The floor for the pipeline benchmark: per withdrawal, the statements the app issues for
 * POST /v1/withdrawals and POST /v1/withdrawals/:id/confirm, with the same text, in the same order and the same
 * transactions, sent straight through the driver (support-floor-driver.ts: on SQLite in commit groups as the
 * app's, on PostgreSQL one round trip each). The benchmark traces one create + confirm of each (the app's handle
 * and the floor's driver both count what they send) and reports where the two lists differ, so a change to the
 * app's statements shows up as a floor that no longer matches. Included: the session lookup of both requests and
 * the session touch (once per withdrawal here: the clock moves 61 s between rounds), the request transaction, the
 * rate-limit upsert (committed on its own, as `committed()` does), the confirm transaction (the locks, the reads
 * sent together, the TOTP step claim, the hold, the proof, the move and its two events (one statement), the audit
 * entry, the notice's token and outbox rows) and the digest's SHA-256; the audit entries go to the journal and are chained by
 * sealAudit at the end of each round, inside the round's time, as the app's are. Left out: HTTP, JSON schemas,
 * Kysely, TOTP HMACs, the release-window logic, email rendering (a pre-rendered body of the real size is written)
 * and every check whose outcome is known here.
 */

export const SESSION_LOOKUP = `select "s"."id", "s"."principal_id", "p"."kind", "p"."role", "s"."aal", "s"."csrf_hash", "s"."created_at", "s"."last_seen_at", "s"."ended_at", "s"."global_epoch" as "session_global_epoch", "s"."principal_epoch" as "session_principal_epoch", "e"."session_epoch" as "current_global_epoch", "p"."session_epoch" as "current_principal_epoch", "p"."locked_at", "s"."device_id" from "sessions" as "s" inner join "principals" as "p" on "p"."id" = "s"."principal_id" inner join "security_epochs" as "e" on true where "s"."token_hash" = ?`;
const insert = (table: string, columns: readonly string[], suffix = '') =>
  `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})${suffix}`;
const MOVE_COLUMNS = ['first_use', 'move_id', 'proof_id', 'reason', 'release_after', 'screening'];

function statements(engine: 'sqlite' | 'postgres') {
  const forUpdate = engine === 'postgres' ? ' for update' : '';
  return {
    sessionLookup: SESSION_LOOKUP,
    touchSession: 'update "sessions" set "last_seen_at" = ? where "id" = ?',
    entryById: 'select * from "address_book_entries" where "id" = ? and "account_id" = ?',
    insertWithdrawal: insert('withdrawals', WITHDRAWAL_COLUMNS),
    insertEvent: insert('withdrawal_events', EVENT_COLUMNS),
    insertJournal: insert('audit_journal', ['id', 'at', 'actor', 'action', 'subject', 'data']),
    hitRateLimits:
      'insert into "rate_limits" ("bucket", "window_start", "hits") values (?, ?, ?), (?, ?, ?) on conflict ("bucket", "window_start") do update set "hits" = rate_limits.hits + 1 returning "bucket", "hits"',
    lockWithdrawal: `select * from "withdrawals" where "id" = ?${forUpdate}`,
    lockPrincipal: `select * from "principals" where "id" = ?${forUpdate}`,
    epochs:
      'select "session_epoch", "mfa_epoch", "totp_epoch", "passkey_epoch", "recovery_epoch" from "security_epochs" where "id" = ?',
    factors:
      'select * from "mfa_factors" where "principal_id" = ? and "status" = ? and "principal_epoch" = ? and "global_epoch" = (select "mfa_epoch" from "security_epochs" where "id" = ?) and "method" = ? order by "created_at" limit ?',
    destinationUsedBefore:
      'select "id" from "withdrawals" where "destination_id" = ? and "id" <> ? and "state" in (?, ?, ?, ?) limit ?',
    accountPair: `select * from "ledger_accounts" where (("owner_id" = ? and "asset" = ? and "kind" = ?) or ("owner_id" = ? and "asset" = ? and "kind" = ?)) order by "id"${forUpdate}`,
    principalById: 'select * from "principals" where "id" = ?',
    settingAt:
      'select "value", "effective_at" from "security_settings_history" where "principal_id" = ? and "setting" = ? and "effective_at" <= ? order by "effective_at" desc, "id" desc limit ?',
    priceAt: 'select * from "price_points" where "asset" = ? and "at" <= ? order by "at" desc limit ?',
    confirmedSince:
      'select "asset", "amount", "created_at" from "withdrawals" where "account_id" = ? and "id" <> ? and "created_at" >= ? and "state" in (?, ?, ?, ?, ?, ?, ?, ?) order by "created_at" limit ?',
    activeEndpoints: 'select * from "webhook_endpoints" where "status" = ? order by "id" limit ?',
    claimTotpStep:
      'update "principals" set "last_totp_step" = ?, "mfa_failures" = ? where "id" = ? and "last_totp_step" < ?',
    // The customer's in-flight account is opened by its first withdrawal (the warm-up round's).
    openLedgerAccount: insert(
      'ledger_accounts',
      [
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
      ],
      ' on conflict ("owner_id", "asset", "kind") do nothing',
    ),
    ledgerAccountByOwner:
      'select * from "ledger_accounts" where "owner_id" = ? and "asset" = ? and "kind" = ?',
    lockAccounts: `${LEDGER_STATEMENTS.lockAccounts}${forUpdate}`,
    insertTransfer: LEDGER_STATEMENTS.insert,
    updateTotals: LEDGER_STATEMENTS.updateTotals,
    insertProof: insert('withdrawal_proofs', PROOF_COLUMNS),
    moveToQueued: `update "withdrawals" set ${MOVE_COLUMNS.map((c) => `"${c}" = ?`).join(', ')}, "state" = ?, "updated_at" = ? where "id" = ? and "state" = ?`,
    // Both hops' events in one statement, each row only if the update just wrote this move's id.
    insertEventsIfMoved: `insert into "withdrawal_events" (${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')}) ${[1, 2].map(() => `select ${EVENT_COLUMNS.map((c) => `? as "${c}"`).join(', ')} from "withdrawals" where "id" = ? and "move_id" = ?`).join(' union all ')}`,
    insertOneTimeToken: insert('one_time_tokens', ONE_TIME_TOKEN_COLUMNS),
    insertOutbox: insert('outbox', OUTBOX_COLUMNS),
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

/** The session lookup, and its touch when last_seen_at is 30 s old or more (as authenticate does). */
async function authenticate(driver: FloorDriver, request: FloorRequest): Promise<void> {
  const session = one(await driver.rows('sessionLookup', [request.customer.tokenHash]), 'session');
  const now = request.now();
  if (now.getTime() - Date.parse(String(session.last_seen_at)) >= 30_000)
    await driver.committed('touchSession', [now.toISOString(), session.id]);
}

/**
 * The customer's two ledger accounts, as the pair read (locked on PostgreSQL) found them; the in-flight one is
 * opened by the customer's first withdrawal (the warm-up round's), and then both are read and locked by id.
 */
async function accountsForHold(s: FloorSession, pair: Row[], owner: string, at: string): Promise<[Row, Row]> {
  const kinds = ['customer', 'withdrawal_in_flight'] as const;
  const found = kinds.map((kind) => pair.find((row) => row.kind === kind));
  if (found[0] !== undefined && found[1] !== undefined) return [found[0], found[1]];
  const ids: string[] = [];
  for (const [i, kind] of kinds.entries()) {
    if (found[i] === undefined) {
      await s.run('openLedgerAccount', [newId(), owner, 'BTC', kind, 1, '0', '0', '0', '0', at]);
      ids.push(String(one(await s.rows('ledgerAccountByOwner', [owner, 'BTC', kind]), `${kind} account`).id));
    } else ids.push(String(found[i].id));
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
  await authenticate(driver, request);
  const id = newId();
  const digest = await driver.transaction(async (s) => {
    const entry = one(await s.rows('entryById', [customer.destinationId, customer.id]), 'address-book entry');
    const now = request.now();
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
    const at = now.toISOString();
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
      created_at: at,
      updated_at: at,
    };
    await s.run(
      'insertWithdrawal',
      WITHDRAWAL_COLUMNS.map((column) => row[column]),
    );
    await s.run('insertEvent', [newId(), id, at, null, 'awaiting_confirmation', actor, null]);
    const data = { ...terms, destination: String(entry.address), digest, ip: request.ip };
    await s.run(
      'insertJournal',
      journalRow(now, { actor, action: 'withdrawal.requested', subject: `withdrawal:${id}`, data }),
    );
    return digest;
  });
  request.created?.();

  await authenticate(driver, request);
  const window = `${new Date(Math.floor(request.now().getTime() / 60_000) * 60_000).toISOString()}`;
  const [firstBucket, secondBucket] = [`mfa_per_account:${customer.id}`, `mfa_per_ip:${request.ip}`].sort();
  await driver.committed('hitRateLimits', [firstBucket, window, 1, secondBucket, window, 1]);
  await driver.transaction(async (s) => {
    const now = request.now();
    const at = now.toISOString();
    // The locks, then every read the confirmation needs (the app sends each group in one round trip).
    const withdrawal = one(await s.rows('lockWithdrawal', [id]), 'withdrawal');
    const principal = one(await s.rows('lockPrincipal', [customer.id]), 'principal');
    one(await s.rows('epochs', [1]), 'epochs');
    const factor = one(
      await s.rows('factors', [customer.id, 'active', principal.mfa_epoch, 1, 'totp', 100]),
      'TOTP factor',
    );
    const usedBefore =
      (
        await s.rows('destinationUsedBefore', [
          withdrawal.destination_id,
          id,
          'queued',
          'released',
          'broadcast',
          'completed',
          1,
        ])
      ).length > 0;
    const pair = await s.rows('accountPair', [
      customer.id,
      'BTC',
      'customer',
      customer.id,
      'BTC',
      'withdrawal_in_flight',
    ]);
    // Screening facts: principal, entry, cooling setting, price, the day's earlier withdrawals (all BTC here:
    // valued with the price read with them); the notice's anti-phishing code and webhook endpoints.
    await s.rows('principalById', [customer.id]);
    await s.rows('entryById', [customer.destinationId, customer.id]);
    await s.rows('settingAt', [customer.id, 'address_cooling_ms', at, 1]);
    await s.rows('priceAt', ['BTC', at, 1]);
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    await s.rows('confirmedSince', [customer.id, id, since, ...CONFIRMED_STATES, 10_001]);
    await s.rows('settingAt', [customer.id, 'anti_phishing_code', at, 1]);
    await s.rows('activeEndpoints', ['active', 100]);
    if ((await s.run('claimTotpStep', [request.totpStep, 0, customer.id, request.totpStep])) !== 1)
      throw new Error('floor: the TOTP step was used before');
    const [d, c] = await accountsForHold(s, pair, customer.id, at);
    const held = BigInt(AMOUNT) + BigInt(FEE);
    const available =
      BigInt(String(d.posted_credits)) - BigInt(String(d.posted_debits)) - BigInt(String(d.pending_debits));
    if (available < held) throw new Error('floor: the customer ran out of funds');
    if (
      (await s.run('insertTransfer', [
        id,
        'pending',
        d.id,
        c.id,
        'BTC',
        held.toString(),
        null,
        'withdrawal',
        digest,
        at,
      ])) !== 1
    )
      throw new Error('floor: the hold exists');
    const plus = (row: Row, column: string, by: bigint) => (BigInt(String(row[column])) + by).toString();
    await s.run('updateTotals', [
      d.id,
      String(d.posted_debits),
      c.id,
      String(c.posted_debits),
      d.id,
      String(d.posted_credits),
      c.id,
      String(c.posted_credits),
      d.id,
      plus(d, 'pending_debits', held),
      c.id,
      String(c.pending_debits),
      d.id,
      String(d.pending_credits),
      c.id,
      plus(c, 'pending_credits', held),
      d.id,
      c.id,
    ]);
    // The proof, the move into screening and on to queued (one update, an event per hop).
    const proofId = newId();
    const evidence = JSON.stringify({
      v: 1,
      withdrawal_id: id,
      digest,
      method: 'totp',
      factor_id: factor.id,
      step: request.totpStep,
    });
    await s.run('insertProof', [
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
    await s.run('moveToQueued', [
      usedBefore ? 0 : 1,
      moveId,
      proofId,
      null,
      releaseAfter,
      SCREENING_JSON,
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
      to,
      who,
      reason,
      id,
      moveId,
    ];
    await s.run('insertEventsIfMoved', [
      ...event('awaiting_confirmation', 'screening', actor, 'confirmed with totp'),
      ...event('screening', 'queued', 'system:screening', null),
    ]);
    // The audit entry goes out with the notice's writes.
    await s.run(
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
    await s.run('insertOneTimeToken', [
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
    await s.run('insertOutbox', [
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
