import { COOLING_SETTING } from '../core/address-book/cooling.ts';
import { assert } from '../core/errors.ts';
import { ANTI_PHISHING_SETTING } from '../core/notifications/anti-phishing.ts';
import { type AddressBookEntry, entryFromRow, entryQuery } from './address-book.ts';
import { compiledOnce } from './compiled-query.ts';
import type { Database } from './database.ts';
import { currentOfRows, type FactorRow, factorsOfMethodQuery } from './identity/factors.ts';
import { lockPrincipalQuery, PRINCIPAL_COLUMNS, type Principal } from './identity/principals.ts';
import { type SettingValue, settingFromRow, settingQuery } from './identity/settings-history.ts';
import { LockedAccounts } from './ledger/account-locks.ts';
import { openAccount } from './ledger/accounts.ts';
import { accountFromRow } from './ledger/rows.ts';
import type { Account, OpenAccountInput } from './ledger/types.ts';
import { type RateLimitHit, type RateLimitVerdict, rateLimitHits } from './rate-limits.ts';
import {
  type FanInCount,
  fanInOfWithdrawal,
  type RuleSetRow,
  ruleSetRevisionOf,
  ruleSetsInForce,
  ruleSetsLastRead,
  type SessionDeviceRow,
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
  /**
   * Fan-in counted over the windows of the rule sets this process held before the read (on PostgreSQL under the
   * destination's advisory lock, taken in the same round trip): a window the sets in force need and not here is
   * counted by screening itself (countFanIn).
   */
  readonly fanIn: readonly FanInCount[];
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
  /** The fan-in windows (seconds) that rule sets in force would count over. */
  readonly fanInWindows: (ruleSets: readonly RuleSetRow[]) => readonly number[];
}

export async function readConfirmation(
  database: Database,
  tx: Tx,
  request: ConfirmationRequest,
): Promise<ConfirmationSubject> {
  const { withdrawalId: id, principalId, now } = request;
  const at = now.toISOString();
  const windows = request.fanInWindows(ruleSetsLastRead(database) ?? []).map((windowSeconds) => ({
    windowSeconds,
    since: new Date(now.getTime() - windowSeconds * 1000).toISOString(),
  }));
  const fanIn = fanInOfWithdrawal(tx, id, principalId, windows);
  const [attempts, groups, counts] = await readTogether(
    tx,
    rateLimitHits(tx, request.attempts, now),
    {
      statements: [
        confirmationRow.statement(tx, id, at, principalId, request.sessionId),
        factorsOfMethodQuery(tx, principalId, request.method),
        holdAccountsOf.statement(tx, principalId, id),
        confirmedSinceQuery(tx, principalId, request.since.toISOString(), id),
      ],
      decode: (results) => results.map((result) => result?.rows ?? []),
    } satisfies Reads<unknown[][]>,
    fanIn,
  );
  const [found = [], factorRows = [], holdRows = [], since = []] = groups;
  const read = found[0] as ConfirmationRow | undefined;
  const principal = read === undefined ? undefined : principalOf(read);
  const factors = principal === undefined ? [] : currentOfRows(factorRows, principal);
  const row = read === undefined ? undefined : withdrawalOf(read);
  return {
    attempts,
    withdrawal: row,
    destinationUsedBefore: read?.destination_used === true || Number(read?.destination_used) === 1,
    principal,
    factors,
    hold:
      row === undefined || row.account_id !== principalId
        ? undefined
        : await holdAccounts(tx, request.holdAccounts(row.asset), holdRows as LedgerAccountsTable[], now),
    screening: {
      entry:
        read === undefined || read.e_id === null
          ? undefined
          : entryFromRow({
              id: read.e_id,
              account_id: read.e_account_id as string,
              network: read.e_network as string,
              address: read.e_address as string,
              address_type: read.e_address_type as string,
              label: read.e_label as string,
              cooling_ms: read.e_cooling_ms as number,
              created_at: read.e_created_at as string,
              removed_at: read.e_removed_at,
            } as Parameters<typeof entryFromRow>[0]),
      cooling: settingOf(read?.cooling_value, read?.cooling_effective_at),
      price:
        read === undefined || read.price_usd === null || read.price_at === null || read.price_source === null
          ? undefined
          : { asset: read.asset, usd_price: read.price_usd, at: read.price_at, source: read.price_source },
      confirmedSince: since as { asset: string; amount: string }[],
      // Held by this process under the revision read just now, or read again (one statement) when it moved.
      ruleSets: read === undefined ? [] : await ruleSetsInForce(database, tx, read.rule_set_revision),
      sessionDevice:
        read === undefined || read.sd_session_id === null
          ? undefined
          : {
              session_id: read.sd_session_id,
              session_created_at: read.sd_session_created_at as string,
              device_id: read.sd_device_id,
              device_first_seen_at: read.sd_device_first_seen_at,
              device_integrity: read.sd_device_integrity,
            },
      fanIn: counts,
    },
    antiPhishingCode: settingOf(read?.anti_phishing_value, read?.anti_phishing_effective_at),
  };
}

function settingOf(value: string | null | undefined, effectiveAt: string | null | undefined) {
  return value === null || value === undefined || effectiveAt === null || effectiveAt === undefined
    ? undefined
    : settingFromRow({ value, effective_at: effectiveAt });
}

/** The confirmation's one row: the withdrawal and what is asked of it, the principal, entry, settings, session. */
type ConfirmationRow = WithdrawalRow &
  WithdrawalAsked & {
    readonly [K in (typeof PRINCIPAL_COLUMNS)[number] as `p_${K}`]: Principal[K];
  } & {
    readonly [K in (typeof ENTRY_COLUMNS)[number] as `e_${K}`]: unknown;
  } & {
    readonly e_id: string | null;
    readonly e_removed_at: string | null;
    readonly cooling_value: string | null;
    readonly cooling_effective_at: string | null;
    readonly anti_phishing_value: string | null;
    readonly anti_phishing_effective_at: string | null;
    readonly rule_set_revision: string | null;
    readonly sd_session_id: string | null;
    readonly sd_session_created_at: string | null;
    readonly sd_device_id: string | null;
    readonly sd_device_first_seen_at: string | null;
    readonly sd_device_integrity: SessionDeviceRow['device_integrity'];
  };

function principalOf(read: ConfirmationRow): Principal {
  return Object.fromEntries(
    PRINCIPAL_COLUMNS.map((column) => [column, read[`p_${column}`]]),
  ) as unknown as Principal;
}

function withdrawalOf(read: ConfirmationRow): WithdrawalRow {
  return Object.fromEntries(
    WITHDRAWAL_COLUMNS.map((column) => [column, read[column]]),
  ) as unknown as WithdrawalRow;
}

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
] as const;

interface WithdrawalAsked {
  readonly destination_used: number | boolean | null;
  readonly price_usd: string | null;
  readonly price_at: string | null;
  readonly price_source: string | null;
}

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
 * The withdrawal, locked, with what is asked of it (whether its destination was paid before; its asset's price at
 * `at`, the latest point at or before it: three index look-ups, one per column), and beside it, each read once:
 * the confirming principal (locked), the address-book entry it pays (the principal's), the cooling and
 * anti-phishing settings in force at `at`, the rule sets' revision (rule-sets.ts), and the confirming session with
 * its device. No row when there is no such withdrawal (or no such principal: then nothing is confirmed either).
 */
const confirmationRow = compiledOnce(
  4,
  (tx: Tx, engine, id: string, at: string, principalId: string, sessionId: string) => {
    const query = tx
      .selectFrom('withdrawals as w')
      .innerJoin('principals as p', (join) => join.on('p.id', '=', principalId))
      .leftJoin('address_book_entries as e', (join) =>
        join.onRef('e.id', '=', 'w.destination_id').on('e.account_id', '=', principalId),
      )
      .leftJoin('sessions as s', (join) => join.on('s.id', '=', sessionId))
      .leftJoin('devices as d', 'd.id', 's.device_id')
      .select(WITHDRAWAL_COLUMNS.map((column) => `w.${column}` as const))
      .select(PRINCIPAL_COLUMNS.map((column) => `p.${column} as p_${column}` as const))
      .select(ENTRY_COLUMNS.map((column) => `e.${column} as e_${column}` as const))
      .select([
        's.id as sd_session_id',
        's.created_at as sd_session_created_at',
        's.device_id as sd_device_id',
        'd.first_seen_at as sd_device_first_seen_at',
        'd.integrity as sd_device_integrity',
      ])
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
            .selectFrom('price_points as pp')
            .select(`pp.${column}`)
            .whereRef('pp.asset', '=', 'w.asset')
            .where('pp.at', '<=', at)
            .orderBy('pp.at', 'desc')
            .limit(1);
        const setting = (name: string, column: 'value' | 'effective_at') =>
          eb
            .selectFrom('security_settings_history as h')
            .select(`h.${column}`)
            .where('h.principal_id', '=', principalId)
            .where('h.setting', '=', name)
            .where('h.effective_at', '<=', at)
            .orderBy('h.effective_at', 'desc')
            .orderBy('h.id', 'desc')
            .limit(1);
        return [
          price('usd_price').as('price_usd'),
          price('at').as('price_at'),
          price('source').as('price_source'),
          setting(COOLING_SETTING, 'value').as('cooling_value'),
          setting(COOLING_SETTING, 'effective_at').as('cooling_effective_at'),
          setting(ANTI_PHISHING_SETTING, 'value').as('anti_phishing_value'),
          setting(ANTI_PHISHING_SETTING, 'effective_at').as('anti_phishing_effective_at'),
          ruleSetRevisionOf(eb as never).as('rule_set_revision'),
        ];
      })
      .where('w.id', '=', id);
    return engine === 'postgres' ? query.forUpdate(['w', 'p']) : query;
  },
);

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
