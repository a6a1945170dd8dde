import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  coolingChangeEffectiveAt,
  coolingPeriodEndsAt,
  DEFAULT_COOLING_MS,
  isCooled,
  MAX_COOLING_MS,
  parseCoolingHours,
} from '../../../src/core/address-book/cooling.ts';
import { DomainError } from '../../../src/core/errors.ts';

const HOUR_MS = 3_600_000;
const T = new Date('2026-11-27T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T.getTime() + offsetMs);

const coolingMs = fc.integer({ min: 24, max: 168 }).map((hours) => hours * HOUR_MS);

function refusedOn(field: string) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `not a DomainError: ${String(error)}`);
    assert.equal(error.code, 'INVALID_INPUT');
    assert.equal(error.field, field);
    return true;
  };
}

describe('cooling period of a new destination', () => {
  test('an address added at T is not usable one millisecond before T + 24 h and is usable at T + 24 h', () => {
    assert.equal(isCooled(T, DEFAULT_COOLING_MS, DEFAULT_COOLING_MS, at(DEFAULT_COOLING_MS - 1)), false);
    assert.equal(isCooled(T, DEFAULT_COOLING_MS, DEFAULT_COOLING_MS, at(DEFAULT_COOLING_MS)), true);
    assert.equal(
      coolingPeriodEndsAt(T, DEFAULT_COOLING_MS, DEFAULT_COOLING_MS).toISOString(),
      '2026-11-28T12:00:00.000Z',
    );
  });

  test('a clock that runs backwards (a time before the entry was made) never counts as cooled', () => {
    assert.equal(isCooled(T, DEFAULT_COOLING_MS, DEFAULT_COOLING_MS, at(-DEFAULT_COOLING_MS)), false);
  });

  test('lengthening the account period protects entries already cooling', () => {
    const longer = 72 * HOUR_MS;
    assert.equal(coolingPeriodEndsAt(T, DEFAULT_COOLING_MS, longer).getTime(), T.getTime() + longer);
    assert.equal(isCooled(T, DEFAULT_COOLING_MS, longer, at(DEFAULT_COOLING_MS)), false);
  });

  test('shortening the account period never shortens an entry added under a longer one', () => {
    const longer = 72 * HOUR_MS;
    assert.equal(coolingPeriodEndsAt(T, longer, DEFAULT_COOLING_MS).getTime(), T.getTime() + longer);
    assert.equal(isCooled(T, longer, DEFAULT_COOLING_MS, at(DEFAULT_COOLING_MS)), false);
  });

  test('whatever the two periods, the entry waits for the longer one and not a millisecond less', () => {
    fc.assert(
      fc.property(coolingMs, coolingMs, fc.integer({ min: -10 * HOUR_MS, max: 400 * HOUR_MS }), (a, b, t) => {
        const longer = Math.max(a, b);
        assert.equal(isCooled(T, a, b, at(t)), t >= longer);
        assert.equal(coolingPeriodEndsAt(T, a, b).getTime(), T.getTime() + longer);
      }),
    );
  });
});

describe('changing the cooling period', () => {
  test('a longer period takes effect at once', () => {
    assert.equal(coolingChangeEffectiveAt(DEFAULT_COOLING_MS, 72 * HOUR_MS, T).getTime(), T.getTime());
  });

  test('setting the same period again takes effect at once (nothing to wait out)', () => {
    assert.equal(coolingChangeEffectiveAt(72 * HOUR_MS, 72 * HOUR_MS, T).getTime(), T.getTime());
  });

  test('a shorter period waits out the whole current period, so a thief who shortens it gains nothing', () => {
    assert.equal(
      coolingChangeEffectiveAt(168 * HOUR_MS, DEFAULT_COOLING_MS, T).getTime(),
      T.getTime() + 168 * HOUR_MS,
    );
    fc.assert(
      fc.property(coolingMs, coolingMs, (current, requested) => {
        const effective = coolingChangeEffectiveAt(current, requested, T).getTime();
        if (requested >= current) assert.equal(effective, T.getTime());
        // Any entry added before the change is already protected by `current` until it takes effect.
        else assert.ok(effective >= T.getTime() + current);
      }),
    );
  });
});

describe('cooling period hours from a customer', () => {
  test('24 h to 168 h in whole hours are accepted, as milliseconds', () => {
    assert.equal(parseCoolingHours(24), DEFAULT_COOLING_MS);
    assert.equal(parseCoolingHours(72), 72 * HOUR_MS);
    assert.equal(parseCoolingHours(168), MAX_COOLING_MS);
  });

  test('a period shorter than 24 h is refused, naming the field', () => {
    for (const hours of [23, 0, -0, -24, 1]) {
      assert.throws(() => parseCoolingHours(hours), refusedOn('cooling_period_hours'), String(hours));
    }
  });

  test('a period longer than 7 days is refused, naming the field', () => {
    for (const hours of [169, 1_000_000, 1e300, Number.MAX_SAFE_INTEGER]) {
      assert.throws(() => parseCoolingHours(hours), refusedOn('cooling_period_hours'), String(hours));
    }
  });

  test('fractions, strings, bigints and non-numbers are refused rather than rounded or coerced', () => {
    for (const input of [
      1.5,
      24.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '24',
      24n,
      null,
      undefined,
      {},
      [24],
    ]) {
      assert.throws(() => parseCoolingHours(input), refusedOn('cooling_period_hours'), String(input));
    }
  });

  test('the field named in a refusal is the one the caller says', () => {
    assert.throws(() => parseCoolingHours(23, 'settings.cooling'), refusedOn('settings.cooling'));
  });

  test('anything accepted lies within 24 h .. 7 days', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        let ms: number;
        try {
          ms = parseCoolingHours(input);
        } catch (error) {
          assert.ok(error instanceof DomainError);
          return;
        }
        assert.ok(Number.isInteger(ms) && ms >= DEFAULT_COOLING_MS && ms <= MAX_COOLING_MS);
      }),
    );
  });
});

describe('a corrupted cooling period fails closed', () => {
  test('a period that is not a number (NaN from a damaged row) never ends, so the entry is never cooled', () => {
    const created = new Date('2026-01-01T00:00:00.000Z');
    const later = new Date('2030-01-01T00:00:00.000Z');
    assert.equal(isCooled(created, Number.NaN, DEFAULT_COOLING_MS, later), false);
    assert.equal(isCooled(created, DEFAULT_COOLING_MS, Number.NaN, later), false);
    assert.equal(isCooled(new Date(Number.NaN), DEFAULT_COOLING_MS, DEFAULT_COOLING_MS, later), false);
  });
});
