/**
 * The withdrawing account re-derived from the journal, at the monitor's verdict (issue #13). Pure: the monitor reads
 * the account's stored totals, every transfer it is a side of, and for each credit the evidence behind it, in one
 * statement (src/store/monitor-journal.ts), and this decides.
 *
 * - **Balance from the journal.** The account's four totals are recomputed from its transfers (as the ledger applies
 *   them) and must equal the stored ones: a balance written around the ledger is refused here, whatever happened to
 *   the monitor's feeds. Each post or void must resolve a hold of this account, of the same amount and accounts.
 * - **The hold is covered.** The withdrawal's hold is in the journal (its id, this account, amount + fee), and what
 *   the journal leaves available, the hold counted, is not below zero.
 * - **Every credit is explained** by something the monitor can tie to more than the transfer row: a deposit
 *   (a `deposits` row for exactly that chain output, account, asset and amount, debited from the platform's custody
 *   account), or a reimbursement (a paid item of a request approved by an operator other than the one who asked,
 *   for a withdrawal of this very account and asset, debited from the platform's treasury). A hold coming back
 *   (a void) is not a credit: it resolves a hold the account placed, and is checked as such. Any other credit, such as
 *   a balanced transfer from custody or treasury funding straight into the customer, was invented: refused, naming
 *   the transfer.
 * - **Bounded, failing closed.** The read stops at its bound; an account with more transfers than that in the asset
 *   is refused (`journal_unbounded`), never judged on part of its journal.
 */

export const JOURNAL_TOTALS = [
  'posted_debits',
  'posted_credits',
  'pending_debits',
  'pending_credits',
] as const;
type TotalName = (typeof JOURNAL_TOTALS)[number];
type Totals = [bigint, bigint, bigint, bigint];

/** The withdrawing account as stored (amounts as the database gives them: decimal text). */
export interface JournalAccountRow {
  readonly id: string;
  readonly owner_id: string;
  readonly asset: string;
  readonly posted_debits: string;
  readonly posted_credits: string;
  readonly pending_debits: string;
  readonly pending_credits: string;
}

/** A deposit credited for one chain output (`deposits`), joined by the transfer's id. */
export interface DepositEvidence {
  readonly account_id: string;
  readonly asset: string;
  readonly amount: string;
  readonly network: string;
  readonly txid: string;
  readonly output_index: string;
}

/** A reimbursement item paid by the transfer, its request, and the withdrawal it paid back. */
export interface ReimbursementEvidence {
  readonly account_id: string;
  readonly asset: string;
  readonly units: string;
  readonly paid_at: string | null;
  readonly request_status: string | null;
  readonly requested_by: string | null;
  readonly approved_by: string | null;
  readonly withdrawal_account_id: string | null;
  readonly withdrawal_asset: string | null;
}

export interface JournalTransferRow {
  readonly id: string;
  readonly kind: string;
  readonly debit_account_id: string;
  readonly credit_account_id: string;
  readonly asset: string;
  readonly amount: string;
  readonly pending_id: string | null;
  readonly code: string;
  /** The other side when this account is credited: who the money came from. */
  readonly source_owner_id: string | null;
  readonly source_kind: string | null;
  readonly source_asset: string | null;
  readonly deposit: DepositEvidence | undefined;
  readonly reimbursement: ReimbursementEvidence | undefined;
}

export interface AccountJournal {
  /** Undefined when the account has no ledger account in the asset. */
  readonly account: JournalAccountRow | undefined;
  readonly transfers: readonly JournalTransferRow[];
  /** False when the read stopped at its bound: more transfers were there. */
  readonly complete: boolean;
  /** The bound, for the finding. */
  readonly bound: number;
}

/** The withdrawal whose hold is judged: its id is the hold's id, its units amount + fee. */
export interface HeldWithdrawal {
  readonly id: string;
  readonly accountId: string;
  readonly asset: string;
  readonly units: bigint;
}

export interface JournalFinding {
  readonly check: 'journal_unbounded' | 'journal_balance' | 'hold_not_covered' | 'credit_unexplained';
  readonly detail: string;
}

/** The platform's own ledger owner (src/services/withdrawals/ledger-accounts.ts), named here so core stays pure. */
export const PLATFORM_LEDGER_OWNER = 'platform';
/** Credits named per finding; the rest are counted. */
const LISTED = 5;

const DIGITS = /^(0|[1-9][0-9]{0,39})$/;

function amountOf(text: string | null | undefined): bigint | undefined {
  return typeof text === 'string' && DIGITS.test(text) ? BigInt(text) : undefined;
}

function effectOf(kind: string, amount: bigint): { debit: Totals; credit: Totals } | undefined {
  switch (kind) {
    case 'posted':
      return { debit: [amount, 0n, 0n, 0n], credit: [0n, amount, 0n, 0n] };
    case 'pending':
      return { debit: [0n, 0n, amount, 0n], credit: [0n, 0n, 0n, amount] };
    case 'post_pending':
      return { debit: [amount, 0n, -amount, 0n], credit: [0n, amount, 0n, -amount] };
    case 'void_pending':
      return { debit: [0n, 0n, -amount, 0n], credit: [0n, 0n, 0n, -amount] };
    default:
      return undefined;
  }
}

/** Why a credit into `account` is not explained, or undefined when it is. */
export function unexplainedCredit(
  account: JournalAccountRow,
  transfer: JournalTransferRow,
): string | undefined {
  const amount = amountOf(transfer.amount);
  if (amount === undefined) return 'its amount cannot be read';
  if (transfer.kind !== 'posted')
    return `a ${transfer.kind} transfer into a customer's balance has no source`;
  const from = (kind: string) =>
    transfer.source_owner_id === PLATFORM_LEDGER_OWNER &&
    transfer.source_kind === kind &&
    transfer.source_asset === account.asset;
  if (transfer.code === 'deposit') {
    const deposit = transfer.deposit;
    if (deposit === undefined) return 'no credited chain output (deposit) is recorded for it';
    if (
      deposit.account_id !== account.owner_id ||
      deposit.asset !== account.asset ||
      amountOf(deposit.amount) !== amount
    )
      return 'the deposit recorded for it is for another account, asset or amount';
    if (transfer.id !== `deposit:${deposit.network}:${deposit.txid}:${deposit.output_index}`)
      return 'its id is not the chain output of the deposit recorded for it';
    if (!from('custody')) return "a deposit must come from the platform's custody account";
    return undefined;
  }
  if (transfer.code === 'reimbursement') {
    const item = transfer.reimbursement;
    if (item === undefined) return 'no reimbursement item was paid by it';
    if (
      item.account_id !== account.owner_id ||
      item.asset !== account.asset ||
      amountOf(item.units) !== amount
    )
      return 'the reimbursement item it paid is for another account, asset or amount';
    if (item.paid_at === null) return 'the reimbursement item it would pay is not marked paid';
    if (item.withdrawal_account_id !== account.owner_id || item.withdrawal_asset !== account.asset)
      return "it pays back a withdrawal that is not this account's in this asset";
    if (
      item.request_status !== 'approved' ||
      item.requested_by === null ||
      item.approved_by === null ||
      item.approved_by === item.requested_by
    )
      return 'its reimbursement request was not approved by a second operator';
    if (!from('treasury')) return "a reimbursement must come from the platform's treasury";
    return undefined;
  }
  return `nothing the monitor can check explains a '${transfer.code}' credit`;
}

/** Everything that keeps the monitor from approving `withdrawal` on this journal; empty when it is in order. */
export function judgeAccountJournal(journal: AccountJournal, withdrawal: HeldWithdrawal): JournalFinding[] {
  const where = `account ${withdrawal.accountId} in ${withdrawal.asset}`;
  if (!journal.complete)
    return [
      {
        check: 'journal_unbounded',
        detail: `${where} has more than ${journal.bound} transfers: the monitor does not judge a withdrawal on part of its journal`,
      },
    ];
  const account = journal.account;
  if (account === undefined)
    return [{ check: 'hold_not_covered', detail: `${where} has no ledger account, so no hold` }];
  const findings: JournalFinding[] = [];
  const balance = (detail: string) => findings.push({ check: 'journal_balance', detail });
  const derived: Totals = [0n, 0n, 0n, 0n];
  const byId = new Map(journal.transfers.map((t) => [t.id, t]));
  const unexplained: string[] = [];
  for (const transfer of journal.transfers) {
    const amount = amountOf(transfer.amount);
    const effect = amount === undefined ? undefined : effectOf(transfer.kind, amount);
    const debit = transfer.debit_account_id === account.id;
    const credit = transfer.credit_account_id === account.id;
    if (
      effect === undefined ||
      amount === undefined ||
      transfer.asset !== account.asset ||
      debit === credit
    ) {
      balance(`transfer ${transfer.id} cannot be read as a ${account.asset} transfer of this account`);
      continue;
    }
    const moved = debit ? effect.debit : effect.credit;
    for (let i = 0; i < 4; i += 1) derived[i] = (derived[i] as bigint) + (moved[i] as bigint);
    if (transfer.kind === 'post_pending' || transfer.kind === 'void_pending') {
      const hold = transfer.pending_id === null ? undefined : byId.get(transfer.pending_id);
      if (
        hold === undefined ||
        hold.kind !== 'pending' ||
        hold.debit_account_id !== transfer.debit_account_id ||
        hold.credit_account_id !== transfer.credit_account_id ||
        amountOf(hold.amount) !== amount
      )
        balance(`transfer ${transfer.id} resolves no hold of this account of its amount`);
    }
    if (credit) {
      const why = unexplainedCredit(account, transfer);
      if (why !== undefined)
        unexplained.push(
          `transfer ${transfer.id} (${transfer.kind} '${transfer.code}', ${transfer.amount} from ${transfer.source_owner_id ?? '?'}/${transfer.source_kind ?? '?'}): ${why}`,
        );
    }
  }
  JOURNAL_TOTALS.forEach((name: TotalName, i) => {
    const stored = amountOf(account[name]);
    if (stored !== derived[i])
      balance(`${name} is stored as ${account[name]} but the journal says ${derived[i] as bigint}`);
  });
  if (unexplained.length > 0)
    findings.push({
      check: 'credit_unexplained',
      detail: `${unexplained.length} credit(s) into ${where} are not explained: ${unexplained.slice(0, LISTED).join('; ')}`,
    });
  const hold = byId.get(withdrawal.id);
  if (
    hold === undefined ||
    hold.kind !== 'pending' ||
    hold.debit_account_id !== account.id ||
    amountOf(hold.amount) !== withdrawal.units
  )
    findings.push({
      check: 'hold_not_covered',
      detail: `the journal of ${where} has no hold ${withdrawal.id} of ${withdrawal.units} on it`,
    });
  const available = derived[1] - derived[0] - derived[2];
  if (available < 0n)
    findings.push({
      check: 'hold_not_covered',
      detail: `by the journal ${where} is overdrawn by ${-available} with its holds counted`,
    });
  return oneFindingPerCheck(findings);
}

/** The monitor records one finding per withdrawal and check: details of one check are joined. */
function oneFindingPerCheck(findings: readonly JournalFinding[]): JournalFinding[] {
  const byCheck = new Map<JournalFinding['check'], string[]>();
  for (const { check, detail } of findings) byCheck.set(check, [...(byCheck.get(check) ?? []), detail]);
  return [...byCheck].map(([check, details]) => ({
    check,
    detail:
      details.slice(0, LISTED).join('; ') +
      (details.length > LISTED ? ` (and ${details.length - LISTED} more)` : ''),
  }));
}
