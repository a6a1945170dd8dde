import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUsd } from '../../src/core/money/usd.ts';
import { approvalStatus, approvalsRequired } from '../../src/core/withdrawals/review-threshold.ts';

test('two approvals above the threshold or without a value, one at or below it', () => {
  const threshold = parseUsd('10000.00');
  assert.equal(approvalsRequired('10000', threshold), 1);
  assert.equal(approvalsRequired('9999.99', threshold), 1);
  assert.equal(approvalsRequired('10000.000000000000000000000000000000000001', threshold), 2);
  assert.equal(approvalsRequired('54000', threshold), 2);
  assert.equal(approvalsRequired(null, threshold), 2, 'unpriced fails closed');
  assert.equal(approvalsRequired('not a number', threshold), 2, 'unreadable fails closed');
  assert.equal(approvalsRequired('1e9', threshold), 2);
  assert.equal(approvalsRequired('0', parseUsd('0', { allowZero: true })), 1);
  assert.equal(approvalStatus(1, 2), '1 of 2 approvals');
  assert.equal(approvalStatus(0, 1), '0 of 1 approval');
});
