import { COOLING_SETTING } from '../core/address-book/cooling.ts';
import { assert } from '../core/errors.ts';
import { ANTI_PHISHING_SETTING } from '../core/notifications/anti-phishing.ts';
import { type AddressBookEntry, entryFromRow, entryQuery } from './address-book.ts';
import { compiledOnce, engineOf } from './compiled-query.ts';
import { currentOfRows, type FactorRow, factorsOfMethodQuery } from './identity/factors.ts';
import { lockPrincipalQuery, type Principal } from './identity/principals.ts';
import { type SettingValue, settingFromRow, settingQuery } from './identity/settings-history.ts';
import { LockedAccounts } from './ledger/account-locks.ts';
import { openAccount } from './ledger/accounts.ts';
import { accountFromRow } from './ledger/rows.ts';
import type { Account, OpenAccountInput } from './ledger/types.ts';
import { type RateLimitHit, type RateLimitVerdict, rateLimitHits } from './rate-limits.ts';
import {
  type RuleSetRow,
  ruleSetsInForceQuery,
  type SessionDeviceRow,
  sessionDeviceQuery,
} from './rule-sets.ts';
import type { LedgerAccountsTable, PricePointsTable } from './schema.ts';
import type { MfaMethod } from './schema-identity.ts';
import { type Reads, readTogether, type Tx, together } from './transaction.ts';
import { confirmedSinceQuery, WITHDRAWAL_COLUMNS, type WithdrawalRow } from './withdrawals.ts';

/**
 * What a confirmation weighs, read at its start in one round trip (PostgreSQL pipelines the statements): the attempt
 * counted against the caller's rate limits, the withdrawal and the account locked, the account's current factors of
 * the proof's method, whether the destination was paid before, the customer's balance and in-flight accounts in the
 * withdrawal's asset (locked, for the hold), and screening's subject: the address-book entry, the account's cooling
 * and anti-phishing settings, the asset's price and the day's earlier withdrawals. What depends on the withdrawal
 * (its asset, its destination) is selected through it, so nothing waits for the withdrawal's own row to come back.
 */
export interface ConfirmationSubject {
  readonly attempts: readonly RateLimitVerdict[];
  /** Undefined when there is no withdrawal of that id. */
  readonly withdrawal: WithdrawalRow | undefined;
  readonly destinationUsedBefore: boolean;
  readonly principal: Principal | undefined;
  /** The principal's current factors of the method (epochs applied). */
  readonly factors: readonly FactorRow[];
  /** Read only when the withdrawal is the principal's; opened first if the customer has none in the asset yet. */
  readonly hold:
    | { readonly accounts: readonly [Account, Account]; readonly locked: LockedAccounts }
    | undefined;
  readonly screening: ScreeningRows;
  readonly antiPhishingCode: SettingValue | undefined;
}

/** The rows screening decides on, as read at confirmation. */
export interface ScreeningRows {
  readonly entry: AddressBookEntry | undefined;
  readonly cooling: SettingValue | undefined;
  readonly price: PricePointsTable | undefined;
  /** The day's earlier holding and completed withdrawals (asset, amount), at most DAILY_TOTAL_READ_CAP + 1. */
  readonly confirmedSince: readonly { readonly asset: string; readonly amount: string }[];
  /** The active and the shadow rule set, when there are (none active: the built-in set runs). */
  readonly ruleSets: readonly RuleSetRow[];
  /** The confirming session and its device; undefined when the session's row is not found. */
  readonly sessionDevice: SessionDeviceRow | undefined;
}

export interface ConfirmationRequest {
  readonly withdrawalId: string;
  readonly principalId: string;
  /** The session confirming: its start and device are screening facts. */
  readonly sessionId: string;
  readonly method: MfaMethod | undefined;
  readonly attempts: readonly RateLimitHit[];
  /** The two accounts the hold moves between, for the withdrawal's asset. */
  readonly holdAccounts: (asset: string) => readonly [OpenAccountInput, OpenAccountInput];
  readonly now: Date;
  /** The start of the daily limit's window. */
  readonly since: Date;
}

export async function readConfirmation(tx: Tx, request: ConfirmationRequest): Promise<ConfirmationSubject> {
  const { withdrawalId: id, principalId, now } = request;
  const at = now.toISOString();
  const postgres = engineOf(tx) === 'postgres';
  const [attempts, groups] = await readTogether(tx, rateLimitHits(tx, request.attempts, now), {
    statements: [
      lockWithdrawalWithUse.statement(tx, id, at),
      lockPrincipalQuery(tx, principalId, postgres),
      factorsOfMethodQuery(tx, principalId, request.method),
      holdAccountsOf.statement(tx, principalId, id),
      entryOf.statement(tx, principalId, id),
      settingsNow.statement(tx, principalId, at),
      confirmedSinceQuery(tx, principalId, request.since.toISOString(), id),
      ruleSetsInForceQuery(tx),
      sessionDeviceQuery(tx, request.sessionId),
    ],
    decode: (results) => results.map((result) => result?.rows ?? []),
  } satisfies Reads<unknown[][]>);
  const [
    withdrawals = [],
    principals = [],
    factorRows = [],
    holdRows = [],
    entries = [],
    settings = [],
    since = [],
    ruleSets = [],
    sessions = [],
  ] = groups;
  const principal = principals[0] as Principal | undefined;
  const factors = principal === undefined ? [] : currentOfRows(factorRows, principal);
  const found = withdrawals[0] as (WithdrawalRow & WithdrawalAsked) | undefined;
  const { destination_used: used, price_usd, price_at, price_source, ...withdrawal } = found ?? NOTHING_ASKED;
  const row = found === undefined ? undefined : (withdrawal as WithdrawalRow);
  const bySetting = new Map(
    (settings as { setting: string; value: string; effective_at: string }[]).map((s) => [s.setting, s]),
  );
  return {
    attempts,
    withdrawal: row,
    destinationUsedBefore: used === true || Number(used) === 1,
    principal,
    factors,
    hold:
      row === undefined || row.account_id !== principalId
        ? undefined
        : await holdAccounts(tx, request.holdAccounts(row.asset), holdRows as LedgerAccountsTable[], now),
    screening: {
      entry: entryFromRow(entries[0] as Parameters<typeof entryFromRow>[0]),
      cooling: settingFromRow(bySetting.get(COOLING_SETTING)),
      price:
        found === undefined || price_usd === null || price_at === null || price_source === null
          ? undefined
          : { asset: found.asset, usd_price: price_usd, at: price_at, source: price_source },
      confirmedSince: since as { asset: string; amount: string }[],
      ruleSets: ruleSets as RuleSetRow[],
      sessionDevice: sessions[0] as SessionDeviceRow | undefined,
    },
    antiPhishingCode: settingFromRow(bySetting.get(ANTI_PHISHING_SETTING)),
  };
}

interface WithdrawalAsked {
  readonly destination_used: number | boolean | null;
  readonly price_usd: string | null;
  readonly price_at: string | null;
  readonly price_source: string | null;
}
const NOTHING_ASKED: WithdrawalAsked = {
  destination_used: null,
  price_usd: null,
  price_at: null,
  price_source: null,
};

/** The hold's accounts as read (locked), or opened first when the customer has none in the asset yet (rare). */
async function holdAccounts(
  tx: Tx,
  [first, second]: readonly [OpenAccountInput, OpenAccountInput],
  rows: readonly LedgerAccountsTable[],
  now: Date,
) {
  const read = rows.map(accountFromRow);
  const held = (input: OpenAccountInput) =>
    read.find((a) => a.ownerId === input.ownerId && a.asset === input.asset && a.kind === input.kind);
  const heldFirst = held(first);
  const heldSecond = held(second);
  if (heldFirst !== undefined && heldSecond !== undefined) {
    for (const [account, input] of [
      [heldFirst, first],
      [heldSecond, second],
    ] as const)
      assert(
        account.debitsMustNotExceedCredits === input.debitsMustNotExceedCredits,
        `account ${account.id} keeps its overdraft rule`,
      );
    return { accounts: [heldFirst, heldSecond] as const, locked: new LockedAccounts(tx, read) };
  }
  // Opened now; the hold then reads and locks them itself.
  const accounts = [await openAccount(tx, first, now), await openAccount(tx, second, now)] as const;
  return { accounts, locked: new LockedAccounts(tx, []) };
}

/**
 * The withdrawal, locked, with two things asked of it: whether its destination was paid before, and its asset's
 * price at `at` (the latest point at or before it: three index look-ups, one per column).
 */
const lockWithdrawalWithUse = compiledOnce(2, (tx: Tx, engine, id: string, at: string) => {
  const query = tx
    .selectFrom('withdrawals as w')
    .select(WITHDRAWAL_COLUMNS.map((column) => `w.${column}` as const))
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('withdrawals as u')
            .select('u.id')
            .whereRef('u.destination_id', '=', 'w.destination_id')
            .whereRef('u.id', '<>', 'w.id')
            .where('u.state', 'in', ['queued', 'released', 'broadcast', 'completed']),
        )
        .as('destination_used'),
    )
    .select((eb) => {
      const price = (column: 'usd_price' | 'at' | 'source') =>
        eb
          .selectFrom('price_points as p')
          .select(`p.${column}`)
          .whereRef('p.asset', '=', 'w.asset')
          .where('p.at', '<=', at)
          .orderBy('p.at', 'desc')
          .limit(1);
      return [
        price('usd_price').as('price_usd'),
        price('at').as('price_at'),
        price('source').as('price_source'),
      ];
    })
    .where('w.id', '=', id);
  return engine === 'postgres' ? query.forUpdate('w') : query;
});

/** The customer's accounts in the withdrawal's asset (all kinds; the caller picks the hold's two), locked. */
const holdAccountsOf = compiledOnce(2, (tx: Tx, engine, ownerId: string, withdrawalId: string) => {
  const query = tx
    .selectFrom('ledger_accounts')
    .select([
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
    ])
    .where('owner_id', '=', ownerId)
    .where('asset', '=', (eb) => eb.selectFrom('withdrawals').select('asset').where('id', '=', withdrawalId))
    .where('kind', 'in', ['customer', 'withdrawal_in_flight'])
    .orderBy('id');
  return engine === 'postgres' ? query.forUpdate() : query;
});

const entryOf = compiledOnce(2, (tx: Tx, _engine, accountId: string, withdrawalId: string) =>
  tx
    .selectFrom('address_book_entries')
    .select([
      'id',
      'account_id',
      'network',
      'address',
      'address_type',
      'label',
      'cooling_ms',
      'created_at',
      'removed_at',
    ])
    .where('account_id', '=', accountId)
    .where('id', '=', (eb) =>
      eb.selectFrom('withdrawals').select('destination_id').where('id', '=', withdrawalId),
    ),
);

/** The cooling and anti-phishing settings in force at `at`: the latest change of each, one row each at most. */
const settingsNow = compiledOnce(2, (tx: Tx, _engine, principalId: string, at: string) => {
  const latest = (setting: string) =>
    tx
      .selectFrom('security_settings_history')
      .select(['setting', 'value', 'effective_at'])
      .where('principal_id', '=', principalId)
      .where('setting', '=', setting)
      .where('effective_at', '<=', at)
      .orderBy('effective_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1);
  return tx
    .selectFrom(latest(COOLING_SETTING).as('cooling'))
    .selectAll()
    .unionAll(tx.selectFrom(latest(ANTI_PHISHING_SETTING).as('anti_phishing')).selectAll());
});

/** The account, the address-book entry and the cooling setting in force, as the releaser weighs them. */
export async function readWithdrawalSubject(
  tx: Tx,
  withdrawal: WithdrawalRow,
  now: Date,
): Promise<{
  principal: Principal | undefined;
  entry: AddressBookEntry | undefined;
  cooling: SettingValue | undefined;
}> {
  const [principals, entries, coolings] = await together(
    tx,
    lockPrincipalQuery(tx, withdrawal.account_id, false),
    entryQuery(tx, withdrawal.account_id, withdrawal.destination_id),
    settingQuery(tx, withdrawal.account_id, COOLING_SETTING, now.toISOString()),
  );
  return {
    principal: principals.rows[0] as Principal | undefined,
    entry: entryFromRow(entries.rows[0] as Parameters<typeof entryFromRow>[0]),
    cooling: settingFromRow(coolings.rows[0] as Parameters<typeof settingFromRow>[0]),
  };
}
