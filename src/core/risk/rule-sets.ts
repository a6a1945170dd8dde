import { createHash } from 'node:crypto';
import { invalidInput } from '../errors.ts';
import { addUsd, formatUsdExact, parseUsd, type Usd } from '../money/usd.ts';
import type { Rule, RuleOutcome, RuleResult } from './screening.ts';
import {
  accountNotLocked,
  dailyUsdLimit,
  destinationCooled,
  securityChangeLock,
  type WithdrawalFacts,
} from './withdrawal-rules.ts';

/**
 * The rule engine: rules are versioned configuration (which predicate, which action, which thresholds and
 * windows) over a FIXED catalogue of predicates written here, in code. A configuration is validated by
 * `parseRuleSetConfig` (pure; every refusal is an INVALID_INPUT naming the field as a path such as
 * `rules/3/params/limit_usd`) and made into rules by `compileRuleSet`; `screen` merges them as before.
 *
 * Two predicates are hard: `destination_cooled` and `security_change_lock` must be in every set, with an action
 * no weaker than a time lock (DESIGN invariants 3 and the 24 h lock after a security change).
 */

/** What the engine's predicates look at: the minimal rules' facts and what the new predicates need. */
export interface RuleFacts extends WithdrawalFacts {
  readonly network: string;
  /** The destination as the address book stored it (normalised, src/core/addresses). */
  readonly destinationAddress: string;
  /** Confirmed withdrawals of the account in the last 24 h (this one excluded); undefined past the read cap. */
  readonly countLast24h: number | undefined;
  /** The session the withdrawal was confirmed in; undefined when its row could not be found. */
  readonly session: { readonly id: string; readonly createdAt: Date } | undefined;
  /** The device the session logged in with; null when the login reported none. */
  readonly device:
    | {
        readonly id: string;
        readonly firstSeenAt: Date;
        readonly integrity: 'ok' | 'jailbroken' | 'unknown';
      }
    | null
    | undefined;
  /** Amount + fee, base units. */
  readonly amountWithFee: bigint;
  /** The customer's available balance before this withdrawal's hold, base units. */
  readonly availableBefore: bigint;
  /** No earlier withdrawal to this destination left (queued or later). */
  readonly firstUse: boolean;
  /** Distinct other accounts paying the same destination, one count per window the rule sets ask for. */
  readonly fanIn: readonly FanInCount[];
}

export interface FanInCount {
  readonly windowSeconds: number;
  /** Distinct accounts other than this one with a confirmed withdrawal to the destination in the window. */
  readonly otherAccounts: number;
  /** The read stopped at its bound: the true count may be higher. */
  readonly overCap: boolean;
}

export const RULE_ACTIONS = ['time_lock', 'review', 'reject'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

const SEVERITY: Record<RuleAction, number> = { time_lock: 2, review: 3, reject: 4 };

type ParamKind = 'seconds' | 'count' | 'usd' | 'percent';
type ParamValue = number | Usd;

interface ParamSpec {
  readonly kind: ParamKind;
  readonly description: string;
}

/** What a predicate found: not fired, fired (the configured action applies), or unable to decide (held). */
type Finding =
  | { readonly kind: 'clear'; readonly reason: string; readonly numbers?: Numbers }
  | {
      readonly kind: 'fired';
      readonly reason: string;
      readonly until?: Date;
      readonly numbers?: Numbers;
      readonly critical?: boolean;
    }
  /** Fail closed: review whatever the action (a missing price, a read past its bound). */
  | { readonly kind: 'held'; readonly reason: string; readonly numbers?: Numbers }
  /** Beyond the action: the destination is gone, which nothing configured may soften. */
  | { readonly kind: 'forced'; readonly outcome: RuleOutcome; readonly reason: string };

type Numbers = Readonly<Record<string, string>>;

interface PredicateSpec {
  readonly version: number;
  readonly description: string;
  readonly hard: boolean;
  readonly actions: readonly RuleAction[];
  readonly params: Readonly<Record<string, ParamSpec>>;
  evaluate(facts: RuleFacts, params: Readonly<Record<string, ParamValue>>): Finding;
}

const DAY_SECONDS = 24 * 60 * 60;
const MAX_WINDOW_SECONDS = 366 * DAY_SECONDS;
const MAX_COUNT = 1_000_000;

/** A date fact that must be a real instant: anything else throws, and `screen` holds the withdrawal. */
function instant(value: Date, what: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new Error(`${what} is not a valid time`);
  return ms;
}

function seconds(params: Readonly<Record<string, ParamValue>>, name: string): number {
  const value = params[name];
  if (typeof value !== 'number') throw new Error(`parameter ${name} is missing`);
  return value;
}

function usdParam(params: Readonly<Record<string, ParamValue>>, name: string): Usd {
  const value = params[name];
  if (typeof value !== 'object') throw new Error(`parameter ${name} is missing`);
  return value;
}

function fromMinimal(rule: Rule<WithdrawalFacts>, facts: WithdrawalFacts): Finding {
  const result = rule.evaluate(facts);
  if (result.outcome === 'approve') return { kind: 'clear', reason: result.reason };
  if (result.outcome === 'time_lock') {
    if (result.until === undefined) throw new Error('a time lock without an end');
    return { kind: 'fired', reason: result.reason, until: new Date(result.until) };
  }
  return { kind: 'forced', outcome: result.outcome, reason: result.reason };
}

/** The fixed catalogue. Adding a predicate is a code change; configuring one is data. */
export const PREDICATES: Readonly<Record<string, PredicateSpec>> = Object.freeze({
  destination_cooled: {
    version: 1,
    description:
      'the destination is in the address book and past its cooling period (a removed destination is always rejected)',
    hard: true,
    actions: RULE_ACTIONS,
    params: {},
    evaluate: (facts) => fromMinimal(destinationCooled, facts),
  },
  security_change_lock: {
    version: 1,
    description: 'no password, email or MFA change within the security-change lock',
    hard: true,
    actions: RULE_ACTIONS,
    params: {},
    evaluate: (facts) => fromMinimal(securityChangeLock, facts),
  },
  account_not_locked: {
    version: 2,
    description: 'the account is not locked',
    hard: false,
    actions: ['review', 'reject'],
    params: {},
    evaluate(facts) {
      const result = accountNotLocked.evaluate(facts);
      return result.outcome === 'approve'
        ? { kind: 'clear', reason: result.reason }
        : { kind: 'fired', reason: result.reason };
    },
  },
  daily_usd_limit: {
    version: 2,
    description:
      'the USD value of this withdrawal plus the account’s confirmed withdrawals of the last 24 h stays within limit_usd',
    hard: false,
    actions: ['review', 'reject'],
    params: { limit_usd: { kind: 'usd', description: 'the most in USD per 24 h, a decimal string' } },
    evaluate(facts, params) {
      const limit = usdParam(params, 'limit_usd');
      const result = dailyUsdLimit.evaluate({ ...facts, dailyLimitUsd: limit });
      const numbers: Record<string, string> = { limit_usd: formatUsdExact(limit) };
      if (facts.usdValue !== undefined && facts.usdLast24h !== undefined)
        numbers.total_usd = formatUsdExact(addUsd(facts.usdValue, facts.usdLast24h));
      if (result.outcome === 'approve') return { kind: 'clear', reason: result.reason, numbers };
      // Over the limit fires; not knowing the total is held whatever the action.
      const known =
        facts.usdValue !== undefined &&
        facts.usdLast24h !== undefined &&
        facts.last24hOverReadCap === undefined;
      return known
        ? { kind: 'fired', reason: result.reason, numbers }
        : { kind: 'held', reason: result.reason, numbers };
    },
  },
  velocity_count: {
    version: 1,
    description: 'at most max_count confirmed withdrawals per account in 24 h, this one included',
    hard: false,
    actions: ['review', 'reject'],
    params: { max_count: { kind: 'count', description: 'withdrawals per 24 h' } },
    evaluate(facts, params) {
      const max = seconds(params, 'max_count');
      if (facts.countLast24h === undefined)
        return { kind: 'held', reason: 'too many withdrawals in 24 h to count: held for review' };
      const count = facts.countLast24h + 1;
      const numbers = { count: String(count), max_count: String(max) };
      if (count > max)
        return { kind: 'fired', reason: `${count} withdrawals in 24 h is over ${max}`, numbers };
      return { kind: 'clear', reason: `${count} of ${max} withdrawals in 24 h`, numbers };
    },
  },
  new_device: {
    version: 1,
    description:
      'the session’s device was first seen at least device_min_age_seconds ago (a login without a device report is not judged here)',
    hard: false,
    actions: RULE_ACTIONS,
    params: { device_min_age_seconds: { kind: 'seconds', description: 'how long a device is new' } },
    evaluate(facts, params) {
      const minAge = seconds(params, 'device_min_age_seconds');
      // A confirmation outside a stored session (a service call) has no device to judge, like a login without one.
      if (facts.session === undefined || facts.device === null)
        return { kind: 'clear', reason: 'no device was reported' };
      if (facts.device === undefined) throw new Error('the session’s device is unknown');
      const first = instant(facts.device.firstSeenAt, 'the device’s first sighting');
      const now = instant(facts.now, 'now');
      const numbers = { device_age_seconds: String(Math.floor((now - first) / 1000)), min: String(minAge) };
      if (now - first < minAge * 1000)
        return {
          kind: 'fired',
          reason: 'the withdrawal was confirmed from a new device',
          until: new Date(first + minAge * 1000),
          numbers,
        };
      return { kind: 'clear', reason: 'a known device', numbers };
    },
  },
  young_session: {
    version: 1,
    description: 'the confirming session is at least session_min_age_seconds old',
    hard: false,
    actions: RULE_ACTIONS,
    params: { session_min_age_seconds: { kind: 'seconds', description: 'how long a session is young' } },
    evaluate(facts, params) {
      const minAge = seconds(params, 'session_min_age_seconds');
      if (facts.session === undefined) throw new Error('the confirming session is unknown');
      const created = instant(facts.session.createdAt, 'the session’s start');
      const now = instant(facts.now, 'now');
      const numbers = {
        session_age_seconds: String(Math.floor((now - created) / 1000)),
        min: String(minAge),
      };
      if (now - created < minAge * 1000)
        return {
          kind: 'fired',
          reason: 'the withdrawal was confirmed in a session just begun',
          until: new Date(created + minAge * 1000),
          numbers,
        };
      return { kind: 'clear', reason: 'the session is not new', numbers };
    },
  },
  near_full_drain: {
    version: 1,
    description:
      'amount + fee is under percent % of the available balance, or the destination was paid before (locked for lock_seconds)',
    hard: false,
    actions: RULE_ACTIONS,
    params: {
      percent: { kind: 'percent', description: '1..100: the share of the balance that is a drain' },
      lock_seconds: { kind: 'seconds', description: 'how long a time lock lasts' },
    },
    evaluate(facts, params) {
      const percent = seconds(params, 'percent');
      const lock = seconds(params, 'lock_seconds');
      const numbers = {
        amount_with_fee: facts.amountWithFee.toString(),
        available: facts.availableBefore.toString(),
        percent: String(percent),
        first_use: String(facts.firstUse),
      };
      // Base units, exact: amount + fee >= percent/100 of the balance.
      const drain = facts.amountWithFee * 100n >= BigInt(percent) * facts.availableBefore;
      if (drain && facts.firstUse)
        return {
          kind: 'fired',
          reason: `amount + fee is at least ${percent}% of the available balance, to a first-use address`,
          until: new Date(instant(facts.now, 'now') + lock * 1000),
          numbers,
        };
      return {
        kind: 'clear',
        reason: drain ? 'a drain, to a destination paid before' : 'not a drain',
        numbers,
      };
    },
  },
  jailbroken_device: {
    version: 1,
    description: 'the session’s device does not report itself jailbroken or rooted',
    hard: false,
    actions: ['review', 'reject'],
    params: {},
    evaluate(facts) {
      if (facts.session === undefined || facts.device === null)
        return { kind: 'clear', reason: 'no device was reported' };
      if (facts.device === undefined) throw new Error('the session’s device is unknown');
      if (facts.device.integrity === 'jailbroken')
        return { kind: 'fired', reason: 'the device reports itself jailbroken or rooted' };
      return { kind: 'clear', reason: 'no jailbroken device reported' };
    },
  },
  fan_in: {
    version: 1,
    description:
      'fewer than min_accounts distinct accounts (this one included) paid this destination within window_seconds',
    hard: false,
    actions: ['review', 'reject'],
    params: {
      min_accounts: { kind: 'count', description: 'distinct accounts that make a fan-in' },
      window_seconds: { kind: 'seconds', description: 'how far back to count' },
    },
    evaluate(facts, params) {
      const min = seconds(params, 'min_accounts');
      const window = seconds(params, 'window_seconds');
      const count = facts.fanIn.find((c) => c.windowSeconds === window);
      if (count === undefined) throw new Error(`no fan-in count over ${window} s was read`);
      const accounts = count.otherAccounts + 1;
      const numbers = {
        accounts: String(accounts),
        min_accounts: String(min),
        window_seconds: String(window),
        over_cap: String(count.overCap),
      };
      if (accounts >= min)
        return {
          kind: 'fired',
          reason: `${accounts} accounts paid this destination within ${window} s (fan-in of ${min} or more)`,
          numbers,
          critical: true,
        };
      if (count.overCap)
        return { kind: 'held', reason: 'too many withdrawals to this destination to count: held', numbers };
      return { kind: 'clear', reason: `${accounts} account(s) paid this destination`, numbers };
    },
  },
});

export type PredicateName = keyof typeof PREDICATES;

export interface RuleConfig {
  readonly predicate: string;
  readonly action: RuleAction;
  readonly params: Readonly<Record<string, number | string>>;
}

export interface RuleSetConfig {
  readonly description: string;
  readonly rules: readonly RuleConfig[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const USD_TEXT = /^[0-9]{1,18}(\.[0-9]{1,18})?$/;

function parseParam(kind: ParamKind, value: unknown, field: string): number | string {
  if (kind === 'usd') {
    if (typeof value !== 'string')
      throw invalidInput(field, 'a USD amount is a decimal string such as "10000.00", not a number');
    if (!USD_TEXT.test(value))
      throw invalidInput(field, 'must be a decimal string of USD such as "10000.00"');
    parseUsd(value, { field });
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalidInput(field, `must be a whole number (${kind})`);
  if (value <= 0) throw invalidInput(field, 'must be greater than zero');
  if (kind === 'seconds' && value > MAX_WINDOW_SECONDS)
    throw invalidInput(field, `must be at most ${MAX_WINDOW_SECONDS} seconds (366 days)`);
  if (kind === 'count' && value > MAX_COUNT) throw invalidInput(field, `must be at most ${MAX_COUNT}`);
  if (kind === 'percent' && value > 100) throw invalidInput(field, 'must be a percentage, 1..100');
  return value;
}

export const MAX_RULES = 50;

/**
 * Validates a rule set's configuration: the only way one is made. Pure; a refusal is an INVALID_INPUT whose field
 * names the place, e.g. `rules/2/params/window_seconds`.
 */
export function parseRuleSetConfig(input: unknown): RuleSetConfig {
  if (!isRecord(input)) throw invalidInput('config', 'must be an object with a list of rules');
  for (const key of Object.keys(input))
    if (key !== 'rules' && key !== 'description') throw invalidInput(key, 'is not a field of a rule set');
  const description = input.description ?? '';
  if (typeof description !== 'string' || description.length > 500)
    throw invalidInput('description', 'must be text of at most 500 characters');
  if (!Array.isArray(input.rules)) throw invalidInput('rules', 'is required: a list of rules');
  if (input.rules.length > MAX_RULES) throw invalidInput('rules', `at most ${MAX_RULES} rules`);
  const seen = new Set<string>();
  const rules = input.rules.map((raw: unknown, index): RuleConfig => {
    const at = `rules/${index}`;
    if (!isRecord(raw)) throw invalidInput(at, 'must be an object with predicate, action and params');
    for (const key of Object.keys(raw))
      if (key !== 'predicate' && key !== 'action' && key !== 'params')
        throw invalidInput(`${at}/${key}`, 'is not a field of a rule');
    const { predicate, action } = raw;
    if (typeof predicate !== 'string') throw invalidInput(`${at}/predicate`, 'is required');
    const spec = Object.hasOwn(PREDICATES, predicate) ? PREDICATES[predicate] : undefined;
    if (spec === undefined)
      throw invalidInput(
        `${at}/predicate`,
        `is not a known predicate (one of ${Object.keys(PREDICATES).join(', ')})`,
      );
    if (seen.has(predicate)) throw invalidInput(`${at}/predicate`, `${predicate} appears twice`);
    seen.add(predicate);
    if (action === undefined) throw invalidInput(`${at}/action`, 'is required');
    if (typeof action !== 'string' || !(RULE_ACTIONS as readonly string[]).includes(action)) {
      if (spec.hard && (action === 'approve' || action === 'wait'))
        throw invalidInput(
          `${at}/action`,
          `${predicate} is a hard rule: its action cannot be weaker than time_lock`,
        );
      throw invalidInput(`${at}/action`, `is not an action (one of ${RULE_ACTIONS.join(', ')})`);
    }
    if (!spec.actions.includes(action as RuleAction))
      throw invalidInput(`${at}/action`, `${predicate} may only ${spec.actions.join(', ')}`);
    const given = raw.params ?? {};
    if (!isRecord(given)) throw invalidInput(`${at}/params`, 'must be an object');
    for (const key of Object.keys(given))
      if (!Object.hasOwn(spec.params, key))
        throw invalidInput(`${at}/params/${key}`, `is not a parameter of ${predicate}`);
    const params: Record<string, number | string> = {};
    for (const [name, param] of Object.entries(spec.params)) {
      if (!Object.hasOwn(given, name)) throw invalidInput(`${at}/params/${name}`, 'is required');
      params[name] = parseParam(param.kind, given[name], `${at}/params/${name}`);
    }
    return { predicate, action: action as RuleAction, params };
  });
  for (const [name, spec] of Object.entries(PREDICATES)) {
    if (!spec.hard) continue;
    const rule = rules.find((r) => r.predicate === name);
    if (rule === undefined)
      throw invalidInput('rules', `${name} is a hard rule: every rule set must keep it`);
    if (SEVERITY[rule.action] < SEVERITY.time_lock)
      throw invalidInput('rules', `${name} is a hard rule: its action cannot be weaker than time_lock`);
  }
  return { description, rules };
}

/** The windows the fan-in rules of these sets count over (each needs its own count). */
export function fanInWindows(...configs: readonly (RuleSetConfig | undefined)[]): number[] {
  const windows = new Set<number>();
  for (const config of configs)
    for (const rule of config?.rules ?? [])
      if (rule.predicate === 'fan_in') windows.add(rule.params.window_seconds as number);
  return [...windows].sort((a, b) => a - b);
}

/** The configuration made into rules for `screen`: each predicate's finding, turned into its configured action. */
export function compileRuleSet(config: RuleSetConfig): Rule<RuleFacts>[] {
  return config.rules.map((rule) => {
    const spec = PREDICATES[rule.predicate];
    if (spec === undefined) throw new Error(`unknown predicate ${rule.predicate}`);
    const params: Record<string, ParamValue> = {};
    for (const [name, param] of Object.entries(spec.params)) {
      const value = rule.params[name];
      params[name] = param.kind === 'usd' ? parseUsd(String(value)) : (value as number);
    }
    return {
      name: rule.predicate,
      version: spec.version,
      evaluate(facts: RuleFacts): Omit<RuleResult, 'rule' | 'version'> {
        const finding = spec.evaluate(facts, params);
        const numbers =
          'numbers' in finding && finding.numbers !== undefined ? { numbers: finding.numbers } : {};
        if (finding.kind === 'clear') return { outcome: 'approve', reason: finding.reason, ...numbers };
        if (finding.kind === 'held') return { outcome: 'review', reason: finding.reason, ...numbers };
        if (finding.kind === 'forced') return { outcome: finding.outcome, reason: finding.reason };
        const critical = finding.critical === true ? { critical: true } : {};
        if (rule.action === 'time_lock') {
          if (finding.until === undefined) throw new Error('a time lock without an end');
          return {
            outcome: 'time_lock',
            reason: finding.reason,
            until: new Date(instant(finding.until, 'the lock’s end')).toISOString(),
            ...numbers,
            ...critical,
          };
        }
        return { outcome: rule.action, reason: finding.reason, ...numbers, ...critical };
      },
    };
  });
}

/**
 * The built-in set, run while no set was ever activated: today's minimal rules (the daily limit at the configured
 * USD figure) and the new predicates with defaults that leave ordinary withdrawals alone. `young_session` is in the
 * catalogue but not here: a client that reports no device would have every confirmation just after a login locked.
 */
export function defaultRuleSetConfig(dailyLimitUsd: Usd): RuleSetConfig {
  return parseRuleSetConfig({
    description: 'built-in default',
    rules: [
      { predicate: 'account_not_locked', action: 'review' },
      { predicate: 'security_change_lock', action: 'time_lock' },
      { predicate: 'destination_cooled', action: 'time_lock' },
      {
        predicate: 'daily_usd_limit',
        action: 'review',
        params: { limit_usd: formatUsdExact(dailyLimitUsd) },
      },
      { predicate: 'velocity_count', action: 'review', params: { max_count: 100 } },
      { predicate: 'new_device', action: 'time_lock', params: { device_min_age_seconds: DAY_SECONDS } },
      {
        predicate: 'near_full_drain',
        action: 'time_lock',
        params: { percent: 90, lock_seconds: DAY_SECONDS },
      },
      { predicate: 'jailbroken_device', action: 'review' },
      { predicate: 'fan_in', action: 'reject', params: { min_accounts: 10, window_seconds: 3600 } },
    ],
  });
}

/** The facts as JSON for the evaluation record: bigints and USD as decimal strings, times as ISO-8601. */
export function factsAsJson(facts: RuleFacts): string {
  // Converted first, then stringified without a replacer: a replacer function takes JSON.stringify off its fast path.
  return JSON.stringify(jsonSafe(facts));
}

function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : 'invalid';
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value.scaled === 'bigint') return formatUsdExact(value as unknown as Usd);
  const safe: Record<string, unknown> = {};
  for (const key of keys) safe[key] = jsonSafe(value[key]);
  return safe;
}

/**
 * The key fan-in counts by and locks on: network and normalised address (EVM addresses lowercased, so a
 * checksummed and a lowercase spelling are one destination), hashed to a signed 64-bit advisory-lock key.
 */
export function fanInKey(network: string, address: string): { readonly key: string; readonly lock: bigint } {
  const normalised = network === 'ethereum' ? address.toLowerCase() : address;
  const key = `${network}:${normalised}`;
  const digest = createHash('sha256').update(`drawbridge/fan-in/v1\n${key}`).digest();
  return { key, lock: digest.readBigInt64BE(0) };
}
