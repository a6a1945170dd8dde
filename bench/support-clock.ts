import type { Clock } from '../src/core/clock.ts';

/**
 * The system clock plus an offset that only grows: time runs as it does in production (timestamps move
 * within a round), and a benchmark can jump ahead between rounds to reach a fresh TOTP step and a fresh
 * rate-limit window without waiting for them.
 */
export class SteppedClock implements Clock {
  #offset_ms = 0;

  now(): Date {
    return new Date(Date.now() + this.#offset_ms);
  }

  /** How far ahead of the system clock this clock runs. */
  get offsetMs(): number {
    return this.#offset_ms;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('a clock only moves forward');
    this.#offset_ms += ms;
  }
}
