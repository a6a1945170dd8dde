import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_RETRY_POLICY, MIN_RETRY_DELAY_MS, retryDelayMs } from '../../src/workers/outbox-backoff.ts';

describe('retry backoff (a failing receiver is not hammered, a burst is spread out)', () => {
  test('the window doubles per attempt up to the cap of one hour', () => {
    const top = (attempt: number) => retryDelayMs(DEFAULT_RETRY_POLICY, attempt, () => 0.999_999);
    assert.equal(top(1), 4_999);
    assert.equal(top(2), 9_999);
    assert.equal(top(3), 19_999);
    assert.equal(top(11), 3_599_996);
    assert.equal(top(12), 3_599_996);
    assert.equal(top(1000), 3_599_996);
  });

  test('full jitter: draws spread over the whole window, never below the floor', () => {
    const delays = [0, 0.25, 0.5, 0.75].map((d) => retryDelayMs(DEFAULT_RETRY_POLICY, 4, () => d));
    assert.deepEqual(delays, [MIN_RETRY_DELAY_MS, 10_000, 20_000, 30_000]);
  });

  test('an impossible attempt number or draw is a bug, not a delay', () => {
    assert.throws(() => retryDelayMs(DEFAULT_RETRY_POLICY, 0, () => 0.5), /assertion failed/);
    assert.throws(() => retryDelayMs(DEFAULT_RETRY_POLICY, 1, () => 1), /assertion failed/);
  });
});
