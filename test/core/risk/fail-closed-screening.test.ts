import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usdFromWholeDollars } from '../../../src/core/money/usd.ts';
import { type Rule, screen } from '../../../src/core/risk/screening.ts';
import { MINIMAL_WITHDRAWAL_RULES, type WithdrawalFacts } from '../../../src/core/risk/withdrawal-rules.ts';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const facts: WithdrawalFacts = {
  now: NOW,
  accountLockedAt: null,
  withdrawalsLockedUntil: null,
  destinationUsableFrom: new Date(NOW.getTime() - 1000),
  destinationRemoved: false,
  usdValue: usdFromWholeDollars(1_000n),
  usdLast24h: usdFromWholeDollars(0n),
  dailyLimitUsd: usdFromWholeDollars(50_000n),
};

describe('screening fails closed', () => {
  test('a clean withdrawal is approved (so every other outcome here is the rule, not the harness)', () => {
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, facts).outcome, 'approve');
  });

  test('a rule that throws holds the withdrawal for review, with its reason', () => {
    const broken: Rule<WithdrawalFacts> = {
      name: 'broken',
      version: 3,
      evaluate() {
        throw new Error('feed down');
      },
    };
    const decision = screen([...MINIMAL_WITHDRAWAL_RULES, broken], facts);
    assert.equal(decision.outcome, 'review');
    const result = decision.results.find((r) => r.rule === 'broken');
    assert.equal(result?.outcome, 'review');
    assert.match(result?.reason ?? '', /feed down/);
  });

  test('no rules at all is a review, never an approval', () => {
    assert.equal(screen([], facts).outcome, 'review');
  });

  test('a time lock without an end is a review', () => {
    const endless: Rule<WithdrawalFacts> = {
      name: 'endless',
      version: 1,
      evaluate: () => ({ outcome: 'time_lock', reason: 'wait' }),
    };
    assert.equal(screen([endless], facts).outcome, 'review');
  });

  test('a missing price, today or in the last 24 h, holds for review', () => {
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, { ...facts, usdValue: undefined }).outcome, 'review');
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, { ...facts, usdLast24h: undefined }).outcome, 'review');
  });

  test('the daily limit: at the limit passes, a dollar over is held', () => {
    const atLimit = {
      ...facts,
      usdValue: usdFromWholeDollars(20_000n),
      usdLast24h: usdFromWholeDollars(30_000n),
    };
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, atLimit).outcome, 'approve');
    const over = { ...atLimit, usdLast24h: usdFromWholeDollars(30_001n) };
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, over).outcome, 'review');
  });

  test('the strongest outcome wins: a locked account is held even while cooling, a removed destination rejected even when locked; the latest lock end is kept', () => {
    const cooling = { ...facts, destinationUsableFrom: new Date(NOW.getTime() + 60_000) };
    assert.equal(
      screen(MINIMAL_WITHDRAWAL_RULES, { ...cooling, accountLockedAt: NOW.toISOString() }).outcome,
      'review',
    );
    assert.equal(
      screen(MINIMAL_WITHDRAWAL_RULES, {
        ...cooling,
        accountLockedAt: NOW.toISOString(),
        destinationRemoved: true,
      }).outcome,
      'reject',
    );
    const both = screen(MINIMAL_WITHDRAWAL_RULES, {
      ...cooling,
      withdrawalsLockedUntil: new Date(NOW.getTime() + 120_000).toISOString(),
    });
    assert.equal(both.outcome, 'time_lock');
    assert.equal(both.until, new Date(NOW.getTime() + 120_000).toISOString());
  });

  test('a destination one millisecond before its cooling ends is time-locked until then; at the end it passes', () => {
    const usableFrom = new Date(NOW.getTime() + 1);
    const early = screen(MINIMAL_WITHDRAWAL_RULES, { ...facts, destinationUsableFrom: usableFrom });
    assert.equal(early.outcome, 'time_lock');
    assert.equal(early.until, usableFrom.toISOString());
    assert.equal(
      screen(MINIMAL_WITHDRAWAL_RULES, { ...facts, destinationUsableFrom: NOW }).outcome,
      'approve',
    );
    assert.equal(screen(MINIMAL_WITHDRAWAL_RULES, { ...facts, destinationRemoved: true }).outcome, 'reject');
  });
});

describe('an answer that is not an outcome holds', () => {
  test('a rule that answers a promise, nothing or an unknown outcome holds the withdrawal for review', () => {
    const odd: Rule<WithdrawalFacts>[] = [
      {
        name: 'async',
        version: 1,
        evaluate: (() => Promise.resolve({ outcome: 'reject', reason: 'x' })) as never,
      },
      { name: 'nothing', version: 1, evaluate: (() => undefined) as never },
      { name: 'typo', version: 1, evaluate: (() => ({ outcome: 'aprove', reason: 'x' })) as never },
    ];
    for (const rule of odd) {
      const decision = screen([...MINIMAL_WITHDRAWAL_RULES, rule], facts);
      assert.equal(decision.outcome, 'review', rule.name);
      assert.match(decision.results.at(-1)?.reason ?? '', /no outcome/);
    }
  });
});

describe('the daily limit at its read bound', () => {
  test('more withdrawals in the window than the read takes: held for review, never totalled short', () => {
    const capped = { ...facts, usdLast24h: usdFromWholeDollars(0n), last24hOverReadCap: 10_000 };
    const decision = screen(MINIMAL_WITHDRAWAL_RULES, capped);
    assert.equal(decision.outcome, 'review');
    assert.match(decision.results.find((r) => r.rule === 'daily_usd_limit')?.reason ?? '', /more than 10000/);
  });
});
