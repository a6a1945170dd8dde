import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CUSTOMER_WITHDRAWAL_EMAILS,
  eventCatalogue,
  isEventType,
  withdrawalEventTypes,
} from '../../src/core/notifications/event-types.ts';
import { allTransitions, WITHDRAWAL_STATES } from '../../src/core/withdrawals/states.ts';

test('every hop of the state machine names catalogued events, and leaving screening says how it was decided', () => {
  for (const [from, to] of allTransitions()) {
    const types = withdrawalEventTypes(from, to);
    assert.ok(types.length > 0);
    for (const type of types) assert.ok(isEventType(type), `${from} -> ${to}: ${type}`);
    assert.equal(types[0] === 'withdrawal.screened', from === 'screening');
  }
  assert.deepEqual(withdrawalEventTypes(null, 'awaiting_confirmation'), ['withdrawal.requested']);
  // Every state a withdrawal can enter has its own event.
  const entered = new Set(WITHDRAWAL_STATES.map((state) => withdrawalEventTypes(null, state).at(-1)));
  assert.equal(entered.size, WITHDRAWAL_STATES.length);
  for (const type of CUSTOMER_WITHDRAWAL_EMAILS) assert.ok(isEventType(type));
});

test('names outside the catalogue are not event types', () => {
  for (const name of ['withdrawal.finished', '', '*', 'constructor', '__proto__', 'toString', 42, null]) {
    assert.equal(isEventType(name), false, String(name));
  }
});

test('the README lists every event type', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const { type } of eventCatalogue()) assert.ok(readme.includes(`| \`${type}\` |`), type);
});
