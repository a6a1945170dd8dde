import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { parseUsd, usdFromWholeDollars } from '../../../src/core/money/usd.ts';
import {
  compileRuleSet,
  defaultRuleSetConfig,
  factsAsJson,
  fanInKey,
  fanInWindows,
  parseRuleSetConfig,
  type RuleFacts,
} from '../../../src/core/risk/rule-sets.ts';
import { screen } from '../../../src/core/risk/screening.ts';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const HOUR = 3600;

const clean: RuleFacts = {
  now: NOW,
  accountLockedAt: null,
  withdrawalsLockedUntil: null,
  destinationUsableFrom: new Date(NOW.getTime() - 1000),
  destinationRemoved: false,
  usdValue: usdFromWholeDollars(1_000n),
  usdLast24h: usdFromWholeDollars(0n),
  dailyLimitUsd: usdFromWholeDollars(50_000n),
  network: 'bitcoin',
  destinationAddress: 'bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  countLast24h: 0,
  session: { id: 's1', createdAt: new Date(NOW.getTime() - 2 * HOUR * 1000) },
  device: { id: 'd1', firstSeenAt: new Date(NOW.getTime() - 30 * 24 * HOUR * 1000), integrity: 'ok' },
  amountWithFee: 10_000n,
  availableBefore: 100_000_000n,
  firstUse: true,
  fanIn: [{ windowSeconds: 600, otherAccounts: 0, overCap: false }],
};

const HARD = [
  { predicate: 'destination_cooled', action: 'time_lock' },
  { predicate: 'security_change_lock', action: 'time_lock' },
];

/** A set of the two hard rules and `rule`, screened on `facts`: the outcome and the rule's own result. */
function only(rule: Record<string, unknown>, facts: RuleFacts) {
  const config = parseRuleSetConfig({ rules: [...HARD, rule] });
  const decision = screen(compileRuleSet(config), facts);
  const own = decision.results.find((r) => r.rule === rule.predicate);
  assert.ok(own, 'the rule ran');
  return { outcome: decision.outcome, own, decision };
}

function refusal(input: unknown, field: string, reason?: RegExp) {
  assert.throws(
    () => parseRuleSetConfig(input),
    (error: unknown) => {
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.code, 'INVALID_INPUT');
      assert.equal(error.field, field, error.message);
      if (reason !== undefined) assert.match(error.message, reason);
      return true;
    },
  );
}

describe('rule set configuration is validated in core', () => {
  test('a valid set parses, and the built-in default is a valid set that approves a clean withdrawal', () => {
    const config = parseRuleSetConfig({
      description: 'tighter',
      rules: [
        ...HARD,
        { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5, window_seconds: 600 } },
      ],
    });
    assert.equal(config.rules.length, 3);
    assert.deepEqual(config.rules[2]?.params, { min_accounts: 5, window_seconds: 600 });
    const builtin = defaultRuleSetConfig(usdFromWholeDollars(50_000n));
    assert.equal(builtin.rules.find((r) => r.predicate === 'daily_usd_limit')?.params.limit_usd, '50000');
    const facts = { ...clean, fanIn: [{ windowSeconds: 3600, otherAccounts: 0, overCap: false }] };
    assert.equal(screen(compileRuleSet(builtin), facts).outcome, 'approve');
  });

  test('an unknown predicate is refused, naming its place', () => {
    refusal(
      { rules: [...HARD, { predicate: 'moon_phase', action: 'review' }] },
      'rules/2/predicate',
      /not a known/,
    );
  });

  test('a zero or negative window is refused', () => {
    for (const window of [0, -600]) {
      refusal(
        {
          rules: [
            ...HARD,
            { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5, window_seconds: window } },
          ],
        },
        'rules/2/params/window_seconds',
        /greater than zero/,
      );
    }
    refusal(
      {
        rules: [
          ...HARD,
          { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5, window_seconds: 1.5 } },
        ],
      },
      'rules/2/params/window_seconds',
    );
  });

  test('a USD cap given as a number is refused: it must be a decimal string', () => {
    refusal(
      { rules: [...HARD, { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: 10000 } }] },
      'rules/2/params/limit_usd',
      /decimal string/,
    );
    refusal(
      { rules: [...HARD, { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '1e4' } }] },
      'rules/2/params/limit_usd',
    );
    const ok = parseRuleSetConfig({
      rules: [...HARD, { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } }],
    });
    assert.equal(ok.rules[2]?.params.limit_usd, '10000.00');
  });

  test('a window given as a string is refused (a number of seconds)', () => {
    refusal(
      {
        rules: [
          ...HARD,
          { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5, window_seconds: '600' } },
        ],
      },
      'rules/2/params/window_seconds',
    );
  });

  test('an unknown action, an action the predicate may not take, a missing action are refused', () => {
    refusal(
      { rules: [...HARD, { predicate: 'fan_in', action: 'explode', params: {} }] },
      'rules/2/action',
      /not an action/,
    );
    refusal(
      { rules: [...HARD, { predicate: 'jailbroken_device', action: 'time_lock' }] },
      'rules/2/action',
      /may only review, reject/,
    );
    refusal({ rules: [...HARD, { predicate: 'jailbroken_device' }] }, 'rules/2/action', /required/);
  });

  test('a missing param and an unknown param are refused', () => {
    refusal(
      { rules: [...HARD, { predicate: 'fan_in', action: 'reject', params: { min_accounts: 5 } }] },
      'rules/2/params/window_seconds',
      /required/,
    );
    refusal(
      { rules: [...HARD, { predicate: 'jailbroken_device', action: 'review', params: { strict: 1 } }] },
      'rules/2/params/strict',
    );
  });

  test('the hard rules cannot be removed or softened', () => {
    refusal({ rules: [HARD[0]] }, 'rules', /security_change_lock is a hard rule/);
    refusal({ rules: [] }, 'rules', /hard rule/);
    refusal(
      { rules: [{ predicate: 'destination_cooled', action: 'approve' }, HARD[1]] },
      'rules/0/action',
      /cannot be weaker than time_lock/,
    );
    refusal(
      { rules: [HARD[0], { predicate: 'security_change_lock', action: 'wait' }] },
      'rules/1/action',
      /hard rule/,
    );
    // Stronger is fine.
    assert.equal(
      parseRuleSetConfig({ rules: [{ predicate: 'destination_cooled', action: 'reject' }, HARD[1]] }).rules[0]
        ?.action,
      'reject',
    );
  });

  test('a predicate twice, a rule that is not an object, a set that is not an object are refused', () => {
    refusal({ rules: [...HARD, HARD[0]] }, 'rules/2/predicate', /twice/);
    refusal({ rules: [...HARD, 'fan_in'] }, 'rules/2');
    refusal('rules', 'config');
    refusal({ rules: HARD, extra: true }, 'extra');
  });
});

describe('each predicate at and around its threshold', () => {
  test('fan_in: N-1 accounts pass, N are rejected with a critical result; over the read cap holds', () => {
    const rule = { predicate: 'fan_in', action: 'reject', params: { min_accounts: 10, window_seconds: 600 } };
    const at = (others: number, overCap = false) =>
      only(rule, { ...clean, fanIn: [{ windowSeconds: 600, otherAccounts: others, overCap }] });
    assert.equal(at(8).outcome, 'approve');
    const nth = at(9);
    assert.equal(nth.outcome, 'reject');
    assert.equal(nth.own.critical, true);
    assert.equal(nth.own.numbers?.accounts, '10');
    assert.equal(at(40).outcome, 'reject');
    assert.equal(at(3, true).outcome, 'review');
    // A count over another window than the rule's is not this rule's count: held, never approved.
    const wrongWindow = only(rule, {
      ...clean,
      fanIn: [{ windowSeconds: 60, otherAccounts: 0, overCap: false }],
    });
    assert.equal(wrongWindow.outcome, 'review');
    // The action is the configuration's: review instead of reject.
    const reviewing = only(
      { ...rule, action: 'review' },
      { ...clean, fanIn: [{ windowSeconds: 600, otherAccounts: 9, overCap: false }] },
    );
    assert.equal(reviewing.outcome, 'review');
  });

  test('velocity_count: the max_count-th passes, one more is held; past the read cap it holds', () => {
    const rule = { predicate: 'velocity_count', action: 'review', params: { max_count: 5 } };
    assert.equal(only(rule, { ...clean, countLast24h: 4 }).outcome, 'approve');
    assert.equal(only(rule, { ...clean, countLast24h: 5 }).outcome, 'review');
    assert.equal(only({ ...rule, action: 'reject' }, { ...clean, countLast24h: 5 }).outcome, 'reject');
    assert.equal(
      only({ ...rule, action: 'reject' }, { ...clean, countLast24h: undefined }).outcome,
      'review',
    );
  });

  test('daily_usd_limit: at the cap passes, a cent over is held; no price holds even with action reject', () => {
    const rule = { predicate: 'daily_usd_limit', action: 'reject', params: { limit_usd: '10000.00' } };
    const spent = (usd: string, before = '0') =>
      only(rule, { ...clean, usdValue: parseUsd(usd), usdLast24h: parseUsd(before, { allowZero: true }) });
    assert.equal(spent('4000', '6000').outcome, 'approve');
    assert.equal(spent('4000.01', '6000').outcome, 'reject');
    assert.equal(only(rule, { ...clean, usdValue: undefined }).outcome, 'review');
    assert.equal(only(rule, { ...clean, last24hOverReadCap: 10_000 }).outcome, 'review');
  });

  test('near_full_drain: 90% to a first-use address is locked, 89.99% or a used address is not', () => {
    const rule = {
      predicate: 'near_full_drain',
      action: 'time_lock',
      params: { percent: 90, lock_seconds: 86400 },
    };
    const drain = (withFee: bigint, firstUse = true) =>
      only(rule, { ...clean, amountWithFee: withFee, availableBefore: 1_000_000n, firstUse });
    const at90 = drain(900_000n);
    assert.equal(at90.outcome, 'time_lock');
    assert.equal(at90.decision.until, new Date(NOW.getTime() + 86_400_000).toISOString());
    assert.equal(drain(899_999n).outcome, 'approve');
    assert.equal(drain(1_000_000n, false).outcome, 'approve');
    assert.equal(
      only({ ...rule, action: 'review' }, { ...clean, amountWithFee: 950_000n, availableBefore: 1_000_000n })
        .outcome,
      'review',
    );
  });

  test('new_device: a device seen less than the window ago locks until it is not new; no device reported passes', () => {
    const rule = { predicate: 'new_device', action: 'time_lock', params: { device_min_age_seconds: 86400 } };
    const seen = (msAgo: number) =>
      only(rule, {
        ...clean,
        device: { id: 'd', firstSeenAt: new Date(NOW.getTime() - msAgo), integrity: 'ok' },
      });
    const young = seen(86_400_000 - 1000);
    assert.equal(young.outcome, 'time_lock');
    assert.equal(young.decision.until, new Date(NOW.getTime() + 1000).toISOString());
    assert.equal(seen(86_400_000).outcome, 'approve');
    assert.equal(only(rule, { ...clean, device: null }).outcome, 'approve');
    // A device sighting that is not a time makes the rule throw: held.
    const broken = only(rule, {
      ...clean,
      device: { id: 'd', firstSeenAt: new Date('garbage'), integrity: 'ok' },
    });
    assert.equal(broken.outcome, 'review');
    assert.match(broken.own.reason, /failed/);
  });

  test('young_session: younger than the window locks until it is old enough', () => {
    const rule = {
      predicate: 'young_session',
      action: 'time_lock',
      params: { session_min_age_seconds: 600 },
    };
    const aged = (ms: number) =>
      only(rule, { ...clean, session: { id: 's', createdAt: new Date(NOW.getTime() - ms) } });
    assert.equal(aged(599_000).outcome, 'time_lock');
    assert.equal(aged(600_000).outcome, 'approve');
    assert.equal(only(rule, { ...clean, session: undefined }).outcome, 'review');
  });

  test('jailbroken_device: a jailbroken device is held, an ok or unknown one is not', () => {
    const rule = { predicate: 'jailbroken_device', action: 'review' };
    const device = (integrity: 'ok' | 'jailbroken' | 'unknown') =>
      only(rule, { ...clean, device: { id: 'd', firstSeenAt: NOW, integrity } });
    assert.equal(device('jailbroken').outcome, 'review');
    assert.equal(device('ok').outcome, 'approve');
    assert.equal(device('unknown').outcome, 'approve');
    assert.equal(
      only(
        { ...rule, action: 'reject' },
        { ...clean, device: { id: 'd', firstSeenAt: NOW, integrity: 'jailbroken' } },
      ).outcome,
      'reject',
    );
  });

  test('account_not_locked, security_change_lock and destination_cooled decide as before', () => {
    assert.equal(
      only(
        { predicate: 'account_not_locked', action: 'review' },
        { ...clean, accountLockedAt: NOW.toISOString() },
      ).outcome,
      'review',
    );
    const base = parseRuleSetConfig({ rules: HARD });
    const lockedUntil = new Date(NOW.getTime() + 60_000).toISOString();
    const locked = screen(compileRuleSet(base), { ...clean, withdrawalsLockedUntil: lockedUntil });
    assert.equal(locked.outcome, 'time_lock');
    assert.equal(locked.until, lockedUntil);
    assert.equal(screen(compileRuleSet(base), { ...clean, destinationRemoved: true }).outcome, 'reject');
    // Configured stronger, the hard rule takes the stronger action.
    const strict = parseRuleSetConfig({
      rules: [{ predicate: 'destination_cooled', action: 'review' }, HARD[1]],
    });
    const cooling = { ...clean, destinationUsableFrom: new Date(NOW.getTime() + 1000) };
    assert.equal(screen(compileRuleSet(strict), cooling).outcome, 'review');
  });
});

describe('fan-in key and facts record', () => {
  test('an EVM address in either spelling is one destination; networks are kept apart', () => {
    const checksummed = fanInKey('ethereum', '0x52908400098527886E0F7030069857D2E4169EE7');
    const lower = fanInKey('ethereum', '0x52908400098527886e0f7030069857d2e4169ee7');
    assert.equal(checksummed.key, lower.key);
    assert.equal(checksummed.lock, lower.lock);
    assert.notEqual(fanInKey('bitcoin', 'abc').lock, fanInKey('litecoin', 'abc').lock);
  });

  test('the windows of several sets are counted once each', () => {
    const set = (window: number) =>
      parseRuleSetConfig({
        rules: [
          ...HARD,
          { predicate: 'fan_in', action: 'reject', params: { min_accounts: 3, window_seconds: window } },
        ],
      });
    assert.deepEqual(fanInWindows(set(600), set(60), set(600), undefined), [60, 600]);
  });

  test('facts as JSON carry bigints and USD as strings, never numbers', () => {
    const json = JSON.parse(factsAsJson(clean));
    assert.equal(json.amountWithFee, '10000');
    assert.equal(json.availableBefore, '100000000');
    assert.equal(json.usdValue, '1000');
    assert.equal(json.now, NOW.toISOString());
  });
});
