import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secureRandomBytes, secureRandomUint32 } from '../../src/core/random.ts';

test('pooled random bytes: asked lengths, never the same bytes twice, across pool refills', () => {
  const seen = new Set<string>();
  // 600 x 16 bytes crosses the 4 KiB pool more than twice.
  for (let i = 0; i < 600; i++) {
    const bytes = secureRandomBytes(16);
    assert.equal(bytes.length, 16);
    const hex = bytes.toString('hex');
    assert.ok(!seen.has(hex), 'a 128-bit value came out twice');
    seen.add(hex);
  }
  assert.equal(secureRandomBytes(0).length, 0);
  assert.equal(secureRandomBytes(5000).length, 5000);
  assert.throws(() => secureRandomBytes(-1), RangeError);
});

test('a handed-out buffer is a copy: changing it does not change what comes next', () => {
  const first = secureRandomBytes(32);
  first.fill(0);
  const next = secureRandomBytes(32);
  assert.notDeepEqual(next, Buffer.alloc(32));
});

test('uint32s cover the range (not stuck, not small)', () => {
  let high = 0;
  for (let i = 0; i < 1000; i++) {
    const n = secureRandomUint32();
    assert.ok(Number.isInteger(n) && n >= 0 && n < 2 ** 32);
    if (n >= 2 ** 31) high += 1;
  }
  // Binomial(1000, 0.5): outside 400..600 has probability below 1e-9.
  assert.ok(high > 400 && high < 600, `high half ${high} of 1000`);
});
