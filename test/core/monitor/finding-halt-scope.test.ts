import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingHaltScope, type MonitorContext } from '../../../src/services/monitor/check.ts';
import type { WithdrawalRow } from '../../../src/store/withdrawals.ts';

const withdrawal = { id: 'w1', account_id: 'alice', asset: 'BTC' } as WithdrawalRow;
const monitorWith = (haltScope: MonitorContext['haltScope']) => ({ haltScope }) as MonitorContext;

test('a finding halts by policy; a journal longer than the verdict reads halts only its account', () => {
  const forged = { check: 'credit_unexplained', detail: 'x' };
  const busy = { check: 'journal_unbounded', detail: 'x' };
  assert.deepEqual(findingHaltScope(monitorWith('global'), withdrawal, forged), { scope: 'global' });
  assert.deepEqual(findingHaltScope(monitorWith('asset'), withdrawal, forged), {
    scope: 'asset',
    asset: 'BTC',
    network: null,
  });
  for (const policy of ['global', 'asset', 'account'] as const) {
    assert.deepEqual(findingHaltScope(monitorWith(policy), withdrawal, busy), {
      scope: 'account',
      accountId: 'alice',
    });
  }
});
