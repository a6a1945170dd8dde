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
 * POST /v1/withdrawals and POST /v1/withdrawals/:id/confirm (listed from Kysely's query log of
 * authenticate, requestWithdrawal, enforceRateLimits and confirmWithdrawal), in the same order and
 * transactions, sent straight through the driver. Included: the session lookup of both requests, the request
 * transaction, the rate-limit upsert, the confirm transaction (one price read per asset, as screening does) and
 * the digest's SHA-256; the audit entries go to the journal and are chained by sealAudit at the end of each
 * round, inside the round's time, as the app's are. Left out: HTTP, JSON schemas, Kysely, TOTP HMACs, the
 * session's last-seen touch, the webhook-endpoint lookup, the release-window logic, email rendering (a
 * pre-rendered body of the real size is written) and every check whose outcome is known here.
 */

export const SESSION_LOOKUP = `select "s"."id", "s"."principal_id", "p"."kind", "p"."role", "s"."aal", "s"."csrf_hash", "s"."created_at", "s"."last_seen_at", "s"."ended_at", "s"."global_epoch" as "session_global_epoch", "s"."principal_epoch" as "session_principal_epoch", "e"."session_epoch" as "current_global_epoch", "p"."session_epoch" as "current_principal_epoch", "p"."locked_at", "s"."device_id" from "sessions" as "s" inner join "principals" as "p" on "p"."id" = "s"."principal_id" inner join "security_epochs" as "e" on true where "s"."token_hash" = ?`;
const insert = (table: string, columns: readonly string[], suffix = '') =>
  `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})${suffix}`;

function statements(engine: 'sqlite' | 'postgres') {
  const forUpdate = engine === 'postgres' ? ' for update' : '';
  return {
    sessionLookup: SESSION_LOOKUP,
    entryById: 'select * from "address_book_entries" where "id" = ?',
    insertWithdrawal: insert('withdrawals', WITHDRAWAL_COLUMNS),
    insertEvent: insert('withdrawal_events', EVENT_COLUMNS),
    insertJournal: insert('audit_journal', ['id', 'at', 'actor', 'action', 'subject', 'data']),
    hitRateLimits:
      'insert into "rate_limits" ("bucket", "window_start", "hits") values (?, ?, ?), (?, ?, ?) on conflict ("bucket", "window_start") do update set "hits" = rate_limits.hits + 1 returning "bucket", "hits"',
    lockWithdrawal: `select * from "withdrawals" where "id" = ?${forUpdate}`,
    lockPrincipal: `select * from "principals" where "id" = ?${forUpdate}`,
    principalById: 'select * from "principals" where "id" = ?',
    epochs:
      'select "session_epoch", "mfa_epoch", "totp_epoch", "passkey_epoch", "recovery_epoch" from "security_epochs" where "id" = ?',
    factors:
      'select * from "mfa_factors" where "principal_id" = ? and "status" = ? and "principal_epoch" = ? and "global_epoch" = ? and "method" = ? order by "created_at" limit ?',
    claimTotpStep: 'update "principals" set "last_totp_step" = ? where "id" = ? and "last_totp_step" < ?',
    insertProof: insert('withdrawal_proofs', PROOF_COLUMNS),
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
    destinationUsedBefore:
      'select "id" from "withdrawals" where "destination_id" = ? and "id" <> ? and "state" in (?, ?, ?, ?) limit ?',
    moveToScreening:
      'update "withdrawals" set "proof_id" = ?, "first_use" = ?, "state" = ?, "updated_at" = ? where "id" = ? and "state" = ?',
    settingAt:
      'select "value", "effective_at" from "security_settings_history" where "principal_id" = ? and "setting" = ? and "effective_at" <= ? order by "effective_at" desc, "id" desc limit ?',
    priceAt: 'select * from "price_points" where "asset" = ? and "at" <= ? order by "at" desc limit ?',
    confirmedSince:
      'select "asset", "amount", "created_at" from "withdrawals" where "account_id" = ? and "id" <> ? and "created_at" >= ? and "state" in (?, ?, ?, ?, ?, ?, ?, ?) limit ?',
    moveToQueued:
      'update "withdrawals" set "screening" = ?, "reason" = ?, "release_after" = ?, "state" = ?, "updated_at" = ? where "id" = ? and "state" = ?',
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
}

const DAY_MS = 24 * 60 * 60_000;
const AMOUNT = '10000';
const FEE = '10000';
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
  'completed',
  'errored',
];

function one(rows: Row[], what: string): Row {
  const row = rows[0];
  if (row === undefined) throw new Error(`floor: no ${what}`);
  return row;
}

/** The audit entry goes to the journal; the round's sealing (sealAudit, timed with the round) chains it. */
async function appendAudit(
  s: FloorSession,
  at: Date,
  entry: { actor: string; action: string; subject: string; data: JsonObject },
) {
  await s.run('insertJournal', [
    newId(),
    at.toISOString(),
    entry.actor,
    entry.action,
    entry.subject,
    JSON.stringify(entry.data),
  ]);
}

async function ledgerAccount(
  s: FloorSession,
  owner: string,
  kind: 'customer' | 'withdrawal_in_flight',
  at: string,
) {
  const open = (await s.rows('ledgerAccountByOwner', [owner, 'BTC', kind]))[0];
  if (open !== undefined) return open;
  await s.run('openLedgerAccount', [newId(), owner, 'BTC', kind, 1, '0', '0', '0', '0', at]);
  return one(await s.rows('ledgerAccountByOwner', [owner, 'BTC', kind]), `${kind} ledger account`);
}

/** One withdrawal, created and confirmed, as the app's statements would make it. */
export async function floorWithdrawal(driver: FloorDriver, request: FloorRequest): Promise<void> {
  const { customer } = request;
  const actor = `customer:${customer.id}`;
  await driver.rows('sessionLookup', [customer.tokenHash]);
  const id = newId();
  const digest = await driver.transaction(async (s) => {
    const now = request.now();
    const entry = one(await s.rows('entryById', [customer.destinationId]), 'address-book entry');
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
    await s.run('insertWithdrawal', [
      id,
      customer.id,
      'BTC',
      'bitcoin',
      AMOUNT,
      FEE,
      entry.id,
      entry.address,
      entry.label,
      nonce,
      digest,
      summary,
      'awaiting_confirmation',
      null,
      0,
      expires,
      null,
      null,
      0,
      null,
      null,
      null,
      null,
      at,
      at,
    ]);
    await s.run('insertEvent', [newId(), id, at, null, 'awaiting_confirmation', actor, null]);
    const data = {
      asset: 'BTC',
      network: 'bitcoin',
      amount: AMOUNT,
      fee: FEE,
      destination: String(entry.address),
      digest,
      ip: request.ip,
    };
    await appendAudit(s, now, {
      actor,
      action: 'withdrawal.requested',
      subject: `withdrawal:${id}`,
      data,
    });
    return digest;
  });

  await driver.rows('sessionLookup', [customer.tokenHash]);
  const window = `${new Date(Math.floor(request.now().getTime() / 60_000) * 60_000).toISOString()}`;
  const [ipBucket, accountBucket] = [`mfa_per_account:${customer.id}`, `mfa_per_ip:${request.ip}`].sort();
  await driver.rows('hitRateLimits', [ipBucket, window, 1, accountBucket, window, 1]);
  await driver.transaction(async (s) => {
    const now = request.now();
    const at = now.toISOString();
    const withdrawal = one(await s.rows('lockWithdrawal', [id]), 'withdrawal');
    const principal = one(await s.rows('lockPrincipal', [customer.id]), 'principal');
    const epochs = one(await s.rows('epochs', [1]), 'epochs');
    const factor = one(
      await s.rows('factors', [customer.id, 'active', principal.mfa_epoch, epochs.mfa_epoch, 'totp', 100]),
      'TOTP factor',
    );
    if ((await s.run('claimTotpStep', [request.totpStep, customer.id, request.totpStep])) !== 1)
      throw new Error('floor: the TOTP step was used before');
    const proofId = newId();
    const evidence = {
      v: 1,
      withdrawal_id: id,
      digest,
      method: 'totp',
      factor_id: factor.id,
      step: request.totpStep,
    };
    const evidenceText = JSON.stringify(evidence);
    await s.run('insertProof', [
      proofId,
      id,
      customer.id,
      digest,
      'totp',
      factor.id,
      evidenceText,
      hashOpaqueToken(evidenceText),
      at,
    ]);
    const debit = await ledgerAccount(s, customer.id, 'customer', at);
    const credit = await ledgerAccount(s, customer.id, 'withdrawal_in_flight', at);
    const held = BigInt(AMOUNT) + BigInt(FEE);
    const locked = await s.rows('lockAccounts', [debit.id, credit.id].sort());
    const current = (accountId: unknown) =>
      one(
        locked.filter((r) => r.id === accountId),
        'locked account',
      );
    const [d, c] = [current(debit.id), current(credit.id)];
    const available =
      BigInt(String(d.posted_credits)) - BigInt(String(d.posted_debits)) - BigInt(String(d.pending_debits));
    if (available < held) throw new Error('floor: the customer ran out of funds');
    if (
      (await s.run('insertTransfer', [
        id,
        'pending',
        debit.id,
        credit.id,
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
      debit.id,
      String(d.posted_debits),
      credit.id,
      String(c.posted_debits),
      debit.id,
      String(d.posted_credits),
      credit.id,
      String(c.posted_credits),
      debit.id,
      plus(d, 'pending_debits', held),
      credit.id,
      String(c.pending_debits),
      debit.id,
      String(d.pending_credits),
      credit.id,
      plus(c, 'pending_credits', held),
      debit.id,
      credit.id,
    ]);
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
    await s.run('moveToScreening', [
      proofId,
      usedBefore ? 0 : 1,
      'screening',
      at,
      id,
      'awaiting_confirmation',
    ]);
    await s.run('insertEvent', [
      newId(),
      id,
      at,
      'awaiting_confirmation',
      'screening',
      actor,
      'confirmed with totp',
    ]);
    // Screening facts: principal, entry, cooling setting, price, and one price read per earlier withdrawal.
    await s.rows('principalById', [customer.id]);
    await s.rows('entryById', [customer.destinationId]);
    await s.rows('settingAt', [customer.id, 'address_cooling_ms', at, 1]);
    await s.rows('priceAt', ['BTC', at, 1]);
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    // The day's earlier withdrawals are all BTC here: valued with the price read above.
    await s.rows('confirmedSince', [customer.id, id, since, ...CONFIRMED_STATES, 1000]);
    const releaseAfter = new Date(now.getTime() + (usedBefore ? 2 : 10) * 60_000).toISOString();
    await s.run('moveToQueued', [SCREENING_JSON, null, releaseAfter, 'queued', at, id, 'screening']);
    await s.run('insertEvent', [newId(), id, at, 'screening', 'queued', 'system:screening', 'approved']);
    await appendAudit(s, now, {
      actor,
      action: 'withdrawal.confirmed',
      subject: `withdrawal:${id}`,
      data: { method: 'totp', digest, outcome: 'queued' },
    });
    await s.rows('principalById', [customer.id]);
    await s.rows('settingAt', [customer.id, 'anti_phishing_code', at, 1]);
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
