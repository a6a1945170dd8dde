import { coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import { DomainError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { getAsset } from '../../core/money/index.ts';
import { addUsd, formatUsdExact, USD_ZERO, type Usd, usdValue } from '../../core/money/usd.ts';
import {
  compileRuleSet,
  defaultRuleSetConfig,
  factsAsJson,
  fanInKey,
  fanInWindows,
  parseRuleSetConfig,
  type RuleFacts,
  type RuleSetConfig,
} from '../../core/risk/rule-sets.ts';
import {
  heldBecause,
  type Rule,
  type RuleResult,
  type ScreeningDecision,
  screen,
} from '../../core/risk/screening.ts';
import {
  type AccountFacts,
  type DestinationFacts,
  MINIMAL_WITHDRAWAL_RULES,
  type WithdrawalFacts,
} from '../../core/risk/withdrawal-rules.ts';
import type { AddressBookEntry } from '../../store/address-book.ts';
import type { Principal } from '../../store/identity/principals.ts';
import type { SettingValue } from '../../store/identity/settings-history.ts';
import { type PricePoint, priceAt, priceFromRow } from '../../store/prices.ts';
import {
  countFanIn,
  type RuleEvaluationRow,
  type RuleSetRow,
  recordEvaluations,
} from '../../store/rule-sets.ts';
import type { Tx } from '../../store/transaction.ts';
import type { ScreeningRows } from '../../store/withdrawal-confirmation.ts';
import { DAILY_TOTAL_READ_CAP, type WithdrawalRow } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';
import type { ServiceContext } from '../context.ts';

/**
 * The screening interface: the full risk engine replaces the rule list, not this contract. It decides on facts
 * gathered before it runs (screeningFacts); it reads nothing itself.
 */
export interface Screener {
  screen(facts: RuleFacts, withdrawal: WithdrawalRow): ScreeningDecision | Promise<ScreeningDecision>;
}

export const minimalScreener: Screener = {
  screen: (facts) => screen(MINIMAL_WITHDRAWAL_RULES, facts),
};

/** An asset's USD price at `at`, or undefined when there is none or it is stale (the rule then fails closed). */
export async function priceOf(tx: Tx, asset: string, at: Date): Promise<Usd | undefined> {
  return usdPriceOf(() => priceAt(tx, asset, at));
}

async function usdPriceOf(point: () => PricePoint | Promise<PricePoint>): Promise<Usd | undefined> {
  try {
    return (await point()).usdPrice;
  } catch (error) {
    // A missing or stale price is not an error of the request: the rule that needs it fails closed.
    if (error instanceof DomainError && error.code === 'PRICE_UNAVAILABLE') return undefined;
    throw error;
  }
}

/** The facts screening and the releaser both weigh, the account's and the destination's. */
export function accountAndDestinationFacts(
  withdrawal: WithdrawalRow,
  subject: {
    readonly principal: Principal | undefined;
    readonly entry: AddressBookEntry | undefined;
    readonly cooling: SettingValue | undefined;
  },
  now: Date,
): AccountFacts & DestinationFacts {
  const { principal, entry } = subject;
  if (principal === undefined) throw new Error('the account of a withdrawal is gone');
  return {
    now,
    accountLockedAt: principal.locked_at,
    withdrawalsLockedUntil: principal.withdrawals_locked_until,
    destinationUsableFrom:
      entry === undefined
        ? new Date(8.64e15)
        : coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, coolingMsOf(subject.cooling)),
    // An entry that no longer pays the withdrawal's address is as good as removed.
    destinationRemoved:
      entry === undefined || entry.removedAt !== null || entry.address !== withdrawal.destination_address,
  };
}

/**
 * The withdrawal's USD value and the price point screening valued it with, as stored on the row at confirmation
 * (losses and claims count from what was decided). All null when no fresh price was known: screening held it.
 */
export function valuationOf(
  withdrawal: WithdrawalRow,
  rows: ScreeningRows,
  now: Date,
): Pick<WithdrawalRow, 'usd_value' | 'usd_price' | 'usd_price_at' | 'usd_price_source'> {
  let point: PricePoint;
  try {
    point = priceFromRow(rows.price, withdrawal.asset, now);
  } catch {
    return { usd_value: null, usd_price: null, usd_price_at: null, usd_price_source: null };
  }
  return {
    usd_value: formatUsdExact(
      usdValue(BigInt(withdrawal.amount), getAsset(withdrawal.asset), point.usdPrice),
    ),
    usd_price: formatUsdExact(point.usdPrice),
    usd_price_at: point.at.toISOString(),
    usd_price_source: point.source,
  };
}

/** The facts the minimal rules need, from the confirmation's rows (another asset's price is read if needed). */
async function screeningFacts(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  principal: Principal,
  rows: ScreeningRows,
): Promise<WithdrawalFacts> {
  const now = context.clock.now();
  const subject = accountAndDestinationFacts(withdrawal, { principal, ...rows }, now);
  // One price per asset: the day's earlier withdrawals are valued at the same price as this one.
  const prices = new Map<string, Usd | undefined>([
    [withdrawal.asset, await usdPriceOf(() => priceFromRow(rows.price, withdrawal.asset, now))],
  ]);
  const usdOfUnits = async (asset: string, units: bigint): Promise<Usd | undefined> => {
    if (!prices.has(asset)) prices.set(asset, await priceOf(tx, asset, now));
    const price = prices.get(asset);
    return price === undefined ? undefined : usdValue(units, getAsset(asset), price);
  };
  const usd = await usdOfUnits(withdrawal.asset, BigInt(withdrawal.amount));
  // Past the cap the total is not known: the daily limit holds (fails closed) rather than undercount.
  const overCap = rows.confirmedSince.length > DAILY_TOTAL_READ_CAP;
  // Added per asset as bigints, then valued once per asset.
  const byAsset = new Map<string, bigint>();
  for (const other of overCap ? [] : rows.confirmedSince)
    byAsset.set(other.asset, (byAsset.get(other.asset) ?? 0n) + BigInt(other.amount));
  let last24h: Usd | undefined = USD_ZERO;
  for (const [asset, units] of byAsset) {
    const value = await usdOfUnits(asset, units);
    last24h = value === undefined || last24h === undefined ? undefined : addUsd(last24h, value);
  }
  return {
    ...subject,
    usdValue: usd,
    usdLast24h: last24h,
    ...(overCap ? { last24hOverReadCap: DAILY_TOTAL_READ_CAP } : {}),
    dailyLimitUsd: context.withdrawals.dailyLimitUsd,
  };
}

/** A rule set as the engine runs it: which one (the built-in is id "builtin", version 0) and its configuration. */
export interface RunningRuleSet {
  readonly id: string;
  readonly version: number;
  readonly config: RuleSetConfig;
}

export const BUILTIN_RULE_SET_ID = 'builtin';

/** What screening decided, what the shadow set would have, and the rule results to count (metrics). */
export interface EngineVerdict {
  readonly decision: ScreeningDecision;
  readonly shadow: ScreeningDecision | undefined;
  readonly ruleSet: { readonly id: string; readonly version: number };
}

/**
 * The rule engine at confirmation: the active rule set (or the built-in one while none was ever activated) decides
 * on the facts gathered here, the shadow set (if any) is weighed on the same facts and enforces nothing, and both
 * are recorded, one INSERT for the lot. Facts that cannot be gathered, a set that cannot be read and a rule that
 * throws all hold the withdrawal for review (fail closed). A `screener` given by the caller takes the active set's
 * place (tests of the screening contract).
 */
export async function screenWithRuleSets(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  principal: Principal,
  rows: ScreeningRows,
  extra: { readonly availableBefore: bigint; readonly firstUse: boolean },
  screener: Screener | undefined,
): Promise<EngineVerdict> {
  const now = context.clock.now();
  const { active, shadow, unreadable } = runningRuleSets(context, rows.ruleSets);
  const ruleSet = unreadable ?? (screener === undefined ? active : { id: 'screener', version: 0 });

  let facts: RuleFacts | undefined;
  let gatherError: unknown;
  try {
    facts = await ruleFacts(tx, context, withdrawal, principal, rows, extra, [active.config, shadow?.config]);
  } catch (error) {
    gatherError = error;
  }
  const decide = async (): Promise<ScreeningDecision> => {
    if (facts === undefined) return heldBecause('facts', gatherError, 'screening could not gather its facts');
    if (unreadable !== undefined)
      return heldBecause('rule_set', unreadable.error, 'the active rule set cannot be read');
    if (screener === undefined) return decideWith(active.config, facts);
    try {
      return await screener.screen(facts, withdrawal);
    } catch (error) {
      return heldBecause('screener', error, 'screening failed');
    }
  };
  const enforced = await decide();
  const shadowDecision =
    shadow === undefined || facts === undefined ? undefined : decideWith(shadow.config, facts);
  const at = now.toISOString();
  const factsJson = facts === undefined ? '{}' : factsAsJson(facts);
  const record = (
    set: { id: string; version: number },
    mode: 'active' | 'shadow',
    own: ScreeningDecision,
  ): RuleEvaluationRow => ({
    id: newId(),
    withdrawal_id: withdrawal.id,
    rule_set_id: set.id,
    rule_set_version: set.version,
    mode,
    outcome: own.outcome,
    enforced_outcome: enforced.outcome,
    disagrees: own.outcome === enforced.outcome ? 0 : 1,
    results: JSON.stringify(own.results),
    facts: factsJson,
    at,
  });
  await recordEvaluations(tx, [
    record(ruleSet, 'active', enforced),
    ...(shadow !== undefined && shadowDecision !== undefined
      ? [record(shadow, 'shadow', shadowDecision)]
      : []),
  ]);
  return {
    decision: enforced,
    shadow: shadowDecision,
    ruleSet: { id: ruleSet.id, version: ruleSet.version },
  };
}

/**
 * The sets in force as the engine runs them: the active one (the built-in set while none was ever activated), the
 * shadow one, and an active one that cannot be read (then screening holds).
 */
function runningRuleSets(
  context: ServiceContext,
  ruleSets: readonly RuleSetRow[],
): {
  active: RunningRuleSet;
  shadow: RunningRuleSet | undefined;
  unreadable: { id: string; version: number; error: unknown } | undefined;
} {
  let active: RunningRuleSet | undefined;
  let shadow: RunningRuleSet | undefined;
  let unreadable: { id: string; version: number; error: unknown } | undefined;
  for (const row of ruleSets) {
    try {
      const running = { id: row.id, version: row.version, config: configOf(row.config) };
      if (row.state === 'active') active = running;
      else shadow = running;
    } catch (error) {
      if (row.state === 'active') unreadable = { id: row.id, version: row.version, error };
    }
  }
  active ??= {
    id: BUILTIN_RULE_SET_ID,
    version: 0,
    config: builtinConfigOf(context.withdrawals.dailyLimitUsd),
  };
  return { active, shadow, unreadable };
}

/*
 * Every confirmation runs the same one or two sets: each is parsed once per distinct text of its row (the key is the
 * stored text itself, so a row changed in any way, by the services or around them, is parsed afresh) and compiled
 * once per parsed configuration. A text that does not parse is never kept: it throws again on every confirmation,
 * which holds each one.
 */
const MAX_PARSED_SETS = 64;
const parsedSets = new Map<string, RuleSetConfig>();
const compiledSets = new WeakMap<RuleSetConfig, readonly Rule<RuleFacts>[]>();

function configOf(text: string): RuleSetConfig {
  const known = parsedSets.get(text);
  if (known !== undefined) return known;
  // Shared by every confirmation from now on: frozen, so no caller can change the set another one runs.
  const config = deepFrozen(parseRuleSetConfig(JSON.parse(text)));
  if (parsedSets.size >= MAX_PARSED_SETS) parsedSets.clear();
  parsedSets.set(text, config);
  return config;
}

function deepFrozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFrozen(inner);
    Object.freeze(value);
  }
  return value;
}

let builtin: { readonly limit: bigint; readonly config: RuleSetConfig } | undefined;

function builtinConfigOf(dailyLimitUsd: Usd): RuleSetConfig {
  if (builtin?.limit !== dailyLimitUsd.scaled)
    builtin = { limit: dailyLimitUsd.scaled, config: deepFrozen(defaultRuleSetConfig(dailyLimitUsd)) };
  return builtin.config;
}

/** The fan-in windows (seconds) the sets in force count over: what the confirmation's read counts ahead. */
export function fanInWindowsOf(context: ServiceContext, ruleSets: readonly RuleSetRow[]): number[] {
  const { active, shadow } = runningRuleSets(context, ruleSets);
  return fanInWindows(active.config, shadow?.config);
}

function decideWith(config: RuleSetConfig, facts: RuleFacts): ScreeningDecision {
  try {
    let rules = compiledSets.get(config);
    if (rules === undefined) {
      rules = compileRuleSet(config);
      compiledSets.set(config, rules);
    }
    return screen(rules, facts);
  } catch (error) {
    return heldBecause('rule_set', error, 'the rule set could not run');
  }
}

/** The critical results of a decision (fan-in): audited for an operator. */
export function criticalResults(decision: ScreeningDecision): RuleResult[] {
  return decision.results.filter((result) => result.critical === true);
}

/** The minimal facts and what the catalogue's further predicates weigh, read inside the confirming transaction. */
async function ruleFacts(
  tx: Tx,
  context: ServiceContext,
  withdrawal: WithdrawalRow,
  principal: Principal,
  rows: ScreeningRows,
  extra: { readonly availableBefore: bigint; readonly firstUse: boolean },
  configs: readonly (RuleSetConfig | undefined)[],
): Promise<RuleFacts> {
  const now = context.clock.now();
  const base = await screeningFacts(tx, context, withdrawal, principal, rows);
  const windows = fanInWindows(...configs);
  const key = fanInKey(withdrawal.network, withdrawal.destination_address);
  // Counted by the confirmation's read for the sets this process held then; a window of a set that changed since
  // is counted here (under the same lock).
  const counted = new Map(rows.fanIn.map((count) => [count.windowSeconds, count]));
  const missing = windows.filter((seconds) => !counted.has(seconds));
  const more = await countFanIn(
    tx,
    {
      network: withdrawal.network,
      address: withdrawal.destination_address,
      lockKey: key.lock,
      accountId: withdrawal.account_id,
    },
    missing.map((seconds) => new Date(now.getTime() - seconds * 1000).toISOString()),
  );
  missing.forEach((seconds, index) => {
    const count = more[index];
    if (count !== undefined) counted.set(seconds, { windowSeconds: seconds, ...count });
  });
  const counts = windows.map((seconds) => counted.get(seconds));
  const session = rows.sessionDevice;
  return {
    ...base,
    network: withdrawal.network,
    destinationAddress: key.key,
    countLast24h: rows.confirmedSince.length > DAILY_TOTAL_READ_CAP ? undefined : rows.confirmedSince.length,
    // A confirmation made outside a session the store knows (a service call) has no device to judge.
    session:
      session === undefined
        ? undefined
        : { id: session.session_id, createdAt: new Date(session.session_created_at) },
    device:
      session === undefined || session.device_id === null
        ? null
        : session.device_first_seen_at === null || session.device_integrity === null
          ? undefined
          : {
              id: session.device_id,
              firstSeenAt: new Date(session.device_first_seen_at),
              integrity: session.device_integrity,
            },
    amountWithFee: BigInt(withdrawal.amount) + BigInt(withdrawal.fee),
    availableBefore: extra.availableBefore,
    firstUse: extra.firstUse,
    fanIn: windows.map((windowSeconds, index) => {
      const count = counts[index];
      if (count === undefined) throw new Error('a fan-in count is missing');
      return { windowSeconds, otherAccounts: count.accounts, overCap: count.overCap };
    }),
  };
}
