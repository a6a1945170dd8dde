import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AccountJournal,
  type JournalAccountRow,
  type JournalTransferRow,
  judgeAccountJournal,
} from '../../../src/core/monitor/account-journal.ts';

/**
 * The rule the monitor's verdict applies to the withdrawing account's journal (issue #13), alone: which credits
 * are explained, the balance re-derived from the journal against the stored one, the hold covered, the bound.
 */
const CUSTOMER = 'acct-1';
const ACCOUNT = 'ledger-customer';
const IN_FLIGHT = 'ledger-in-flight';
const withdrawal = { id: 'w-1', accountId: CUSTOMER, asset: 'BTC', units: 50n };

const stored = (pd: bigint, pc: bigint, hd: bigint): JournalAccountRow => ({
  id: ACCOUNT,
  owner_id: CUSTOMER,
  asset: 'BTC',
  posted_debits: String(pd),
  posted_credits: String(pc),
  pending_debits: String(hd),
  pending_credits: '0',
});

const base = {
  asset: 'BTC',
  pending_id: null,
  source_owner_id: null,
  source_kind: null,
  source_asset: null,
  deposit: undefined,
  reimbursement: undefined,
};

const deposit = (amount: bigint, txid = 'aaaaaaaa'): JournalTransferRow => ({
  ...base,
  id: `deposit:bitcoin:${txid}:0`,
  kind: 'posted',
  debit_account_id: 'ledger-custody',
  credit_account_id: ACCOUNT,
  amount: String(amount),
  code: 'deposit',
  source_owner_id: 'platform',
  source_kind: 'custody',
  source_asset: 'BTC',
  deposit: {
    account_id: CUSTOMER,
    asset: 'BTC',
    amount: String(amount),
    network: 'bitcoin',
    txid,
    output_index: '0',
  },
});

const reimbursement = (amount: bigint, approvedBy: string | null = 'op-2'): JournalTransferRow => ({
  ...base,
  id: 'reimbursement:inc-1:w-0',
  kind: 'posted',
  debit_account_id: 'ledger-treasury',
  credit_account_id: ACCOUNT,
  amount: String(amount),
  code: 'reimbursement',
  source_owner_id: 'platform',
  source_kind: 'treasury',
  source_asset: 'BTC',
  reimbursement: {
    account_id: CUSTOMER,
    asset: 'BTC',
    units: String(amount),
    paid_at: '2026-01-01T00:00:00.000Z',
    request_status: approvedBy === null ? 'requested' : 'approved',
    requested_by: 'op-1',
    approved_by: approvedBy,
    withdrawal_account_id: CUSTOMER,
    withdrawal_asset: 'BTC',
  },
});

const hold = (id: string, amount: bigint): JournalTransferRow => ({
  ...base,
  id,
  kind: 'pending',
  debit_account_id: ACCOUNT,
  credit_account_id: IN_FLIGHT,
  amount: String(amount),
  code: 'withdrawal',
});

const voided = (pendingId: string, amount: bigint): JournalTransferRow => ({
  ...base,
  id: `${pendingId}:void`,
  kind: 'void_pending',
  debit_account_id: ACCOUNT,
  credit_account_id: IN_FLIGHT,
  amount: String(amount),
  pending_id: pendingId,
  code: 'withdrawal_cancelled',
});

const journal = (
  account: JournalAccountRow,
  transfers: JournalTransferRow[],
  complete = true,
): AccountJournal => ({
  account,
  transfers,
  complete,
  bound: 10,
});

const checks = (j: AccountJournal) => judgeAccountJournal(j, withdrawal).map((f) => f.check);

test('deposits, an approved reimbursement and a voided hold explain the balance: nothing found', () => {
  const transfers = [
    deposit(40n),
    reimbursement(20n),
    hold('w-0', 30n),
    voided('w-0', 30n),
    hold('w-1', 50n),
  ];
  assert.deepEqual(checks(journal(stored(0n, 60n, 50n), transfers)), []);
});

test('a stored balance above the journal (written around the ledger) is journal_balance, naming the total', () => {
  const found = judgeAccountJournal(
    journal(stored(0n, 100n, 50n), [deposit(40n), hold('w-1', 50n)]),
    withdrawal,
  );
  assert.deepEqual(
    found.map((f) => f.check),
    ['journal_balance', 'hold_not_covered'],
  );
  assert.match(found[0]?.detail ?? '', /posted_credits is stored as 100 but the journal says 40/);
  assert.match(found[1]?.detail ?? '', /overdrawn by 10/);
});

test('a balanced credit from custody or treasury funding with no evidence is credit_unexplained, naming it', () => {
  const invented: JournalTransferRow = {
    ...deposit(500n),
    id: 'insider-1',
    deposit: undefined,
  };
  const found = judgeAccountJournal(
    journal(stored(0n, 540n, 50n), [deposit(40n), invented, hold('w-1', 50n)]),
    withdrawal,
  );
  assert.deepEqual(
    found.map((f) => f.check),
    ['credit_unexplained'],
  );
  assert.match(found[0]?.detail ?? '', /transfer insider-1 .*no credited chain output/);
  const funding: JournalTransferRow = {
    ...invented,
    id: 'insider-2',
    code: 'treasury_funding',
    source_kind: 'treasury_funding',
  };
  assert.deepEqual(checks(journal(stored(0n, 540n, 50n), [deposit(40n), funding, hold('w-1', 50n)])), [
    'credit_unexplained',
  ]);
});

test('a deposit credited from elsewhere than custody, or whose row names another account or amount, is unexplained', () => {
  const fromTreasury = { ...deposit(40n), source_kind: 'treasury' };
  assert.deepEqual(checks(journal(stored(0n, 40n, 50n), [fromTreasury, hold('w-1', 50n)])).slice(0, 1), [
    'credit_unexplained',
  ]);
  const other = deposit(40n);
  const otherAccount = {
    ...other,
    deposit: { ...(other.deposit as NonNullable<typeof other.deposit>), account_id: 'x' },
  };
  assert.ok(
    checks(journal(stored(0n, 40n, 50n), [otherAccount, hold('w-1', 50n)])).includes('credit_unexplained'),
  );
  const otherId = { ...deposit(40n), id: 'deposit:bitcoin:bbbbbbbb:0' };
  assert.ok(
    checks(journal(stored(0n, 40n, 50n), [otherId, hold('w-1', 50n)])).includes('credit_unexplained'),
  );
});

test('a reimbursement whose request is not approved by a second operator is unexplained', () => {
  for (const approvedBy of [null, 'op-1']) {
    const r = reimbursement(60n, approvedBy);
    const found = judgeAccountJournal(journal(stored(0n, 60n, 50n), [r, hold('w-1', 50n)]), withdrawal);
    assert.deepEqual(
      found.map((f) => f.check),
      ['credit_unexplained'],
    );
    assert.match(found[0]?.detail ?? '', /second operator/);
  }
  const unpaid = reimbursement(60n);
  const item = unpaid.reimbursement as NonNullable<typeof unpaid.reimbursement>;
  assert.deepEqual(
    checks(
      journal(stored(0n, 60n, 50n), [
        { ...unpaid, reimbursement: { ...item, paid_at: null } },
        hold('w-1', 50n),
      ]),
    ),
    ['credit_unexplained'],
  );
});

test('a void that resolves no hold of this account, or the withdrawal without its hold, is refused', () => {
  const stray = voided('someone-elses-hold', 30n);
  assert.ok(
    checks(journal(stored(0n, 80n, 20n), [deposit(80n), stray, hold('w-1', 50n)])).includes(
      'journal_balance',
    ),
  );
  assert.deepEqual(checks(journal(stored(0n, 80n, 40n), [deposit(80n), hold('w-1', 40n)])), [
    'hold_not_covered',
  ]);
  assert.deepEqual(checks(journal(stored(0n, 80n, 0n), [deposit(80n)])), ['hold_not_covered']);
});

test('an incomplete journal (the read hit its bound) is refused, never judged on part', () => {
  assert.deepEqual(checks(journal(stored(0n, 40n, 50n), [deposit(40n)], false)), ['journal_unbounded']);
  assert.deepEqual(
    judgeAccountJournal({ account: undefined, transfers: [], complete: true, bound: 10 }, withdrawal).map(
      (f) => f.check,
    ),
    ['hold_not_covered'],
  );
});
