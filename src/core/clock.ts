/**
 * Every delay in Drawbridge reads this clock (DESIGN invariant 10), so tests and simulations can
 * move time. Nothing outside the composition root calls `Date.now()` directly.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = Object.freeze({ now: () => new Date() });

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  #now_ms: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.#now_ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now_ms);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('a clock only moves forward');
    this.#now_ms += ms;
  }

  set(at: Date | string): void {
    this.#now_ms = new Date(at).getTime();
  }
}

/** Timestamps are stored as ISO-8601 UTC strings with milliseconds: they sort as text on both engines. */
export function toTimestamp(at: Date): string {
  return at.toISOString();
}

/**
 * The system clock plus an offset that only grows: the server's clock under DRAWBRIDGE_TEST_CLOCK (tests only, see
 * src/config.ts), so a browser test can let a cooling period pass without waiting a day.
 */
export class SteppedSystemClock implements Clock {
  #offset_ms = 0;

  now(): Date {
    return new Date(Date.now() + this.#offset_ms);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('a clock only moves forward');
    this.#offset_ms += ms;
  }
}
