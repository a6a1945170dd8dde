import { invalidInput } from '../errors.ts';

/** New destinations cool for 24 h before money may go to them; a customer may choose up to 7 days. */
export const DEFAULT_COOLING_MS = 24 * 60 * 60_000;
export const MAX_COOLING_MS = 7 * 24 * 60 * 60_000;
export const COOLING_SETTING = 'address_cooling_ms';

/**
 * When an entry becomes usable: its creation plus the longer of the period in force when it was added and the
 * period in force now (lengthening protects entries already cooling; shortening never shortens them).
 */
export function coolingPeriodEndsAt(createdAt: Date, entryCoolingMs: number, accountCoolingMs: number): Date {
  const endsMs = createdAt.getTime() + Math.max(entryCoolingMs, accountCoolingMs);
  // A period that is not a number (a corrupted row) never ends: fail closed, never "cooled".
  return Number.isFinite(endsMs) ? new Date(endsMs) : new Date(8.64e15);
}

export function isCooled(
  createdAt: Date,
  entryCoolingMs: number,
  accountCoolingMs: number,
  at: Date,
): boolean {
  return at.getTime() >= coolingPeriodEndsAt(createdAt, entryCoolingMs, accountCoolingMs).getTime();
}

/**
 * When a new cooling period takes effect: a longer one at once; a shorter one only after the current period
 * has passed, so an attacker who shortens it gains nothing within the window it was meant to protect.
 */
export function coolingChangeEffectiveAt(currentMs: number, requestedMs: number, now: Date): Date {
  if (requestedMs >= currentMs) return now;
  return new Date(now.getTime() + currentMs);
}

export function parseCoolingHours(input: unknown, field = 'cooling_period_hours'): number {
  if (typeof input !== 'number' || !Number.isInteger(input))
    throw invalidInput(field, 'must be a whole number of hours');
  const ms = input * 3_600_000;
  if (ms < DEFAULT_COOLING_MS) throw invalidInput(field, 'must be at least 24 hours');
  if (ms > MAX_COOLING_MS) throw invalidInput(field, 'must be at most 168 hours (7 days)');
  return ms;
}
