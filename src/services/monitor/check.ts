import { createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { open } from '../../adapters/secret-box.ts';
import { coolingPeriodEndsAt } from '../../core/address-book/cooling.ts';
import type { HaltScope } from '../../core/halts/halt-scope.ts';
import { factorBinding, factorKeyFingerprint } from '../../core/mfa/factor-key.ts';
import { judgeAccountJournal } from '../../core/monitor/account-journal.ts';
import {
  type RecheckFactor,
  type RecheckFacts,
  recheckProof,
  totpProofToken,
} from '../../core/monitor/proof-recheck.ts';
import {
  MONITOR_REFUSED,
  signedVerdictOf,
  signVerdict,
  type VerdictStatement,
  verdictRefusal,
} from '../../core/monitor/verdict.ts';
import type { VolumeBreakerPolicy } from '../../core/monitor/volume-breaker.ts';
import { releaseAttestationRefusal } from '../../core/withdrawals/attestation.ts';
import {
  addVerdict,
  type CheckRows,
  claimProofToken,
  deleteFeedEntriesBehind,
  findVerdicts,
  type JudgingQuery,
  type JudgingRows,
  proofTokenUser,
  readCheckRows,
  readCheckRowsOf,
  readJudgingRows,
  readJudgingRowsOf,
  type VerdictRow,
  writeCheckOutcome,
} from '../../store/monitor.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { readWithdrawalSubject } from '../../store/withdrawal-confirmation.ts';
import type { WithdrawalRow } from '../../store/withdrawals.ts';
import { coolingMsOf } from '../address-book.ts';
import type { ServiceContext } from '../context.ts';
import { totpAssociatedData } from '../identity/second-factor.ts';
import { reportCriticalFinding } from './report.ts';

/**
 * What the independent monitor runs with. It shares the database and the clock, opens TOTP secrets with the
 * sealing key (to recompute codes), and signs with a key of its own that the approval path never holds.
 */
export interface MonitorContext {
  readonly services: ServiceContext;
  /** The monitor's Ed25519 private key: its verdicts are what the releaser and custody require. */
  readonly signingKey: KeyObject;
  /** The release key's public half: the monitor checks every release attestation after the fact. */
  readonly releasePublicKey: KeyObject;
  /** What a critical finding halts at once: every withdrawal, the asset's, or the account's (MONITOR_HALT_SCOPE). */
  readonly haltScope: MonitorHaltScope;
  /** The withdrawn-volume circuit breaker (MONITOR_VOLUME_*); DEFAULT_VOLUME_BREAKER when not given. */
  readonly volumeBreaker?: VolumeBreakerPolicy;
}

export const MONITOR_ACTOR = 'system:monitor';

/**
 * Transfers of the withdrawing account (in its asset) the verdict re-derives its balance from. An account with more
 * is refused (`journal_unbounded`, fail closed): its withdrawal is never approved on part of its journal.
 */
export const JOURNAL_READ_BOUND = 10_000;

export const MONITOR_HALT_SCOPES = ['global', 'asset', 'account'] as const;
export type MonitorHaltScope = (typeof MONITOR_HALT_SCOPES)[number];

/** Ended without paying: nothing is checked, but a signed rejection keeps an earlier approval from being reused. */
const ENDED = new Set(['expired', 'cancelled', 'rejected']);
const PAID_OR_PAYING = new Set(['released', 'broadcast', 'errored', 'completed']);

export interface Finding {
  readonly check: string;
  readonly detail: string;
}

export type CheckOutcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'approved' }
  | { readonly kind: 'already_judged' }
  | { readonly kind: 'ended' }
  | { readonly kind: 'refused'; readonly findings: readonly Finding[] };

/**
 * Checks one withdrawal from its raw rows, in one transaction.
 *
 * - Verdict rows the monitor did not sign are findings, and count for nothing.
 * - Ended (expired, cancelled, rejected): a signed rejection is added beside any approval, so a withdrawal revived
 *   in the database (its row set back to queued) is never paid on the approval it once had.
 * - Not judged yet: the proof is re-verified (src/core/monitor/proof-recheck.ts) and its one-use token claimed,
 *   then an approval is signed, or a rejection with findings. A rejection is final.
 * - Released or later: the release attestation is checked against the row and both keys; paying a withdrawal the
 *   monitor rejected, or never judged, is a finding.
 *
 * Every finding is recorded, audited as critical, halts by policy and raises a critical alert (which pages); a
 * finding already recorded is reported again (alerts and halts deduplicate), so a row planted in the findings
 * table does not silence one.
 */
export async function checkWithdrawal(
  monitor: MonitorContext,
  id: string,
  options: { feedSeq?: number } = {},
): Promise<CheckOutcome> {
  return inTransaction(monitor.services.database, async (tx) =>
    checkOne(monitor, tx, { id, ...options }, await readCheckRows(tx, id), undefined, new Map()),
  );
}

/** A withdrawal to check, and the seq of its newest feed entry when the feed named it. */
export interface CheckItem {
  readonly id: string;
  readonly feedSeq?: number;
}

/**
 * Checks several withdrawals (each named once) in one transaction, each exactly as checkWithdrawal checks it alone:
 * their rows are read in one round trip, then the rows each judgement needs in another, then each is judged in
 * turn, and everything they write commits together. All or nothing: if one check throws, the transaction rolls back
 * and this throws, so that the caller checks them one by one (src/services/monitor/pass.ts) and none is approved,
 * refused or taken off the feed on a batch that did not commit.
 */
export async function checkWithdrawals(
  monitor: MonitorContext,
  items: readonly CheckItem[],
): Promise<CheckOutcome[]> {
  return inTransaction(monitor.services.database, async (tx) => {
    const reads = await readCheckRowsOf(
      tx,
      items.map((item) => item.id),
    );
    // The judging rows of the checks that will judge (no verdict row of either kind yet: the usual case), read ahead.
    const judging = await readJudgingRowsOf(
      tx,
      reads.map((read) =>
        read.verdicts.approve === undefined && read.verdicts.reject === undefined
          ? judgingQueryOf(read)
          : undefined,
      ),
    );
    // Tokens proved earlier in this batch: its reads were made before any of its writes.
    const claimed = new Map<string, string>();
    const outcomes: CheckOutcome[] = [];
    for (const [index, item] of items.entries())
      outcomes.push(await checkOne(monitor, tx, item, reads[index]!, judging[index], claimed));
    return outcomes;
  });
}

async function checkOne(
  monitor: MonitorContext,
  tx: Tx,
  item: CheckItem,
  read: CheckRows,
  judging: JudgingRows | undefined,
  claimed: Map<string, string>,
): Promise<CheckOutcome> {
  // Its feed entries leave with the check's own commit, and only then (a check that throws leaves them): with its
  // verdict when it writes one in the same statement, or on their own.
  const { id, feedSeq } = item;
  const feed = feedSeq === undefined ? undefined : { withdrawal_id: id, seq: feedSeq };
  const written = { feed: false };
  const outcome = await checkIn(monitor, tx, id, feed, written, read, judging, claimed);
  if (feed !== undefined && !written.feed) await deleteFeedEntriesBehind(tx, id, feed.seq);
  return outcome;
}

/**
 * What a judgement reads besides the check rows: the TOTP step's claim, the token's first use (the token a TOTP
 * proof has if it verifies) and the account's journal. Undefined when there is nothing to judge.
 */
function judgingQueryOf(read: CheckRows): JudgingQuery | undefined {
  const withdrawal = read.withdrawal;
  if (withdrawal === undefined || withdrawal.state === 'awaiting_confirmation' || ENDED.has(withdrawal.state))
    return undefined;
  const step = read.proof?.method === 'totp' ? stepOf(read.proof.evidence) : undefined;
  return {
    accountId: withdrawal.account_id,
    asset: withdrawal.asset,
    journalBound: JOURNAL_READ_BOUND,
    totpStep: step,
    token: step === undefined ? undefined : totpProofToken(withdrawal.account_id, step),
  };
}

async function checkIn(
  monitor: MonitorContext,
  tx: Tx,
  id: string,
  feed: { withdrawal_id: string; seq: number } | undefined,
  written: { feed: boolean },
  read: CheckRows,
  judgingRead: JudgingRows | undefined,
  claimed: Map<string, string>,
): Promise<CheckOutcome> {
  const { services } = monitor;
  const withdrawal = read.withdrawal;
  if (withdrawal === undefined || withdrawal.state === 'awaiting_confirmation')
    return { kind: 'skipped' as const };
  const now = services.clock.now().toISOString();
  const findings: Finding[] = [];
  const rows = read.verdicts;
  const genuine = (row: VerdictRow | undefined) => {
    if (row === undefined) return undefined;
    if (isOwnVerdict(monitor, row, id)) return row;
    findings.push({
      check: 'verdict_forged',
      detail: `a monitor ${row.verdict} for it was not signed by the monitor`,
    });
    return undefined;
  };
  const approval = genuine(rows.approve);
  let rejection = genuine(rows.reject);
  const proofHashOf = (row: VerdictRow | undefined) => {
    const judged = row === undefined ? undefined : (JSON.parse(row.statement) as { proof_hash?: unknown });
    return typeof judged?.proof_hash === 'string' ? judged.proof_hash : '';
  };
  const reject = async (proofHash: string) => {
    if (rejection !== undefined) return;
    rejection = verdictRow(monitor, withdrawal, 'reject', proofHash, now);
    await addVerdict(tx, rejection);
  };
  if (ENDED.has(withdrawal.state)) {
    await reject(proofHashOf(approval));
    for (const finding of findings) await report(monitor, tx, withdrawal, finding);
    return findings.length === 0 ? { kind: 'ended' as const } : { kind: 'refused' as const, findings };
  }
  let judgedNow = false;
  if (rejection === undefined && approval === undefined) {
    // The TOTP step's claim, the token's first use (the token a TOTP proof has if it verifies) and the account's
    // journal, read together; a proof whose token turns out to be another is looked up on its own.
    const query = judgingQueryOf(read) as JudgingQuery;
    const expectedToken = query.token;
    const { totpClaim, tokenUser, journal } = judgingRead ?? (await readJudgingRows(tx, query));
    const facts = recheckFacts(monitor, withdrawal, read, totpClaim);
    const recheck = await recheckProof(facts);
    let proofUse: { token: string; withdrawal_id: string; at: string } | undefined;
    if (!recheck.ok) findings.push({ check: recheck.check, detail: recheck.detail });
    else {
      const first =
        claimed.get(recheck.token) ??
        (recheck.token === expectedToken
          ? (tokenUser ?? undefined)
          : await proofTokenUser(tx, recheck.token));
      if (first === undefined) {
        proofUse = { token: recheck.token, withdrawal_id: id, at: now };
        claimed.set(recheck.token, id);
      } else if (first !== id)
        findings.push({ check: 'proof_reuse', detail: `its proof already proved withdrawal ${first}` });
    }
    // The account's balance re-derived from its journal, the hold covered by it, every credit explained.
    findings.push(
      ...judgeAccountJournal(journal, {
        id: withdrawal.id,
        accountId: withdrawal.account_id,
        asset: withdrawal.asset,
        units: heldUnits(withdrawal),
      }),
    );
    const proofHash = recheck.ok ? recheck.proofHash : (facts.proof?.proof_hash ?? '');
    // No verdict row of either kind was there (forged ones included): the verdict goes in without a second look.
    const clean = findings.length === 0 && rows.approve === undefined && rows.reject === undefined;
    if (clean) {
      await writeCheckOutcome(tx, {
        verdict: verdictRow(monitor, withdrawal, 'approve', proofHash, now),
        ...(proofUse === undefined ? {} : { proofUse }),
        ...(feed === undefined ? {} : { feed }),
      });
      written.feed = true;
    } else {
      if (proofUse !== undefined) await claimProofToken(tx, proofUse.token, id, now);
      if (findings.length === 0)
        await addVerdict(tx, verdictRow(monitor, withdrawal, 'approve', proofHash, now));
      else await reject(proofHash);
    }
    judgedNow = true;
  }
  if (PAID_OR_PAYING.has(withdrawal.state)) {
    if (rows.reject !== undefined && !judgedNow)
      findings.push({
        check: 'paid_despite_rejection',
        detail: `it is ${withdrawal.state} though the monitor rejected it`,
      });
    else if (judgedNow && findings.length === 0)
      findings.push({ check: 'released_unjudged', detail: 'it was released before the monitor judged it' });
    const refusal = attestationRefusal(monitor, withdrawal);
    if (refusal !== undefined) findings.push({ check: 'attestation', detail: refusal });
    // Once, when it is first seen paid: was its destination in the address book, unchanged and cooled then?
    if (withdrawal.state === 'released' || judgedNow) {
      const uncooled = await destinationUncooledAtRelease(tx, withdrawal);
      if (uncooled !== undefined) findings.push({ check: 'destination_not_cooled', detail: uncooled });
    }
  }
  if (findings.length === 0) return { kind: judgedNow ? ('approved' as const) : ('already_judged' as const) };
  await reject(proofHashOf(approval));
  for (const finding of findings) await report(monitor, tx, withdrawal, finding);
  return { kind: 'refused' as const, findings };
}

function recheckFacts(
  monitor: MonitorContext,
  withdrawal: WithdrawalRow,
  read: CheckRows,
  totpClaim: RecheckFacts['totpClaim'],
): RecheckFacts {
  const { services } = monitor;
  const proof = read.proof;
  const factorRow = read.factor;
  let factor: RecheckFactor | undefined;
  if (factorRow !== undefined) {
    let totpSecret: string | undefined;
    if (factorRow.method === 'totp' && factorRow.secret !== null) {
      try {
        totpSecret = open(services.totpKey, factorRow.secret, totpAssociatedData(factorRow.id)).toString(
          'utf8',
        );
      } catch {
        totpSecret = undefined;
      }
    }
    factor = {
      ...factorRow,
      totpSecret,
      bindingValid: bindingValid(services.totpKey, factorRow, totpSecret),
      removals: read.removals,
      currentEpochs: read.currentEpochs,
    };
  }
  return {
    withdrawal,
    proof,
    factor,
    enrolledKeySha256: read.enrolledKeySha256,
    totpClaim,
    relyingParty: services.settings.relyingParty,
  };
}

/** The factor's binding recomputed from the row as it is now, compared in constant time. */
function bindingValid(
  sealingKey: Buffer,
  row: {
    id: string;
    principal_id: string;
    method: string;
    public_key: string | null;
    code_hash: string | null;
    binding: string | null;
  },
  totpSecret: string | undefined,
): boolean {
  if (row.binding === null) return false;
  let keySha256: string;
  if (row.method === 'totp' && totpSecret !== undefined)
    keySha256 = factorKeyFingerprint({ method: 'totp', secretBase32: totpSecret });
  else if (row.method === 'passkey' && row.public_key !== null)
    keySha256 = factorKeyFingerprint({ method: 'passkey', publicKeyBase64url: row.public_key });
  else if (row.method === 'recovery' && row.code_hash !== null)
    keySha256 = factorKeyFingerprint({ method: 'recovery', codeHash: row.code_hash });
  else return false;
  const expected = Buffer.from(
    factorBinding(sealingKey, { id: row.id, principalId: row.principal_id, method: row.method, keySha256 }),
    'utf8',
  );
  const stored = Buffer.from(row.binding, 'utf8');
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

/** Amount + fee, as its hold should carry them; -1 (matching no hold) when the row's text is not an amount. */
function heldUnits(withdrawal: WithdrawalRow): bigint {
  const digits = /^(0|[1-9][0-9]{0,39})$/;
  const amount = String(withdrawal.amount);
  const fee = String(withdrawal.fee);
  return digits.test(amount) && digits.test(fee) ? BigInt(amount) + BigInt(fee) : -1n;
}

function stepOf(evidence: string | undefined): number | undefined {
  if (evidence === undefined) return undefined;
  try {
    const step = (JSON.parse(evidence) as { step?: unknown }).step;
    return typeof step === 'number' && Number.isSafeInteger(step) && step >= 0 ? step : undefined;
  } catch {
    return undefined;
  }
}

function verdictRow(
  monitor: MonitorContext,
  withdrawal: WithdrawalRow,
  verdict: 'approve' | 'reject',
  proofHash: string,
  at: string,
): VerdictRow {
  const statement: VerdictStatement = {
    v: 1,
    withdrawal_id: withdrawal.id,
    account_id: withdrawal.account_id,
    digest: withdrawal.digest,
    proof_hash: proofHash,
    asset: withdrawal.asset,
    network: withdrawal.network,
    amount: withdrawal.amount,
    destination: withdrawal.destination_address,
    verdict,
    verified_at: at,
  };
  const signed = signVerdict(monitor.signingKey, statement);
  return {
    withdrawal_id: withdrawal.id,
    verdict,
    statement: JSON.stringify(signed.statement),
    signature: signed.signature,
    key_id: signed.key_id,
    at,
  };
}

/** Whether a verdict row is the monitor's own, for this withdrawal, signed by its key. */
export function isOwnVerdict(monitor: MonitorContext, row: VerdictRow, withdrawalId: string): boolean {
  const signed = signedVerdictOf(row);
  const refusal = verdictRefusal(createPublicKey(monitor.signingKey), signed, {
    withdrawal_id: withdrawalId,
  });
  return (refusal === undefined || refusal === MONITOR_REFUSED) && signed?.statement.verdict === row.verdict;
}

/** Why the destination was not usable when the withdrawal was released, or undefined when it was. */
async function destinationUncooledAtRelease(tx: Tx, withdrawal: WithdrawalRow): Promise<string | undefined> {
  if (withdrawal.released_at === null) return 'it is paid but has no release time';
  const releasedAt = new Date(withdrawal.released_at);
  if (Number.isNaN(releasedAt.getTime())) return 'its release time is not a time';
  const { entry, cooling } = await readWithdrawalSubject(tx, withdrawal, releasedAt);
  if (entry === undefined || entry.address !== withdrawal.destination_address)
    return 'its destination is not the address-book entry it names';
  if (entry.removedAt !== null && entry.removedAt <= releasedAt)
    return 'its destination was removed from the address book before release';
  const usableFrom = coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, coolingMsOf(cooling));
  if (releasedAt < usableFrom)
    return `it was released at ${withdrawal.released_at}, before its destination cooled (${usableFrom.toISOString()})`;
  return undefined;
}

function attestationRefusal(monitor: MonitorContext, withdrawal: WithdrawalRow): string | undefined {
  if (withdrawal.attestation === null) return 'it was released without an attestation';
  let attestation: unknown;
  try {
    attestation = JSON.parse(withdrawal.attestation);
  } catch {
    return 'its attestation is not JSON';
  }
  const keys = { release: monitor.releasePublicKey, monitor: createPublicKey(monitor.signingKey) };
  const refusal = releaseAttestationRefusal(keys, attestation, {
    withdrawal_id: withdrawal.id,
    asset: withdrawal.asset,
    network: withdrawal.network,
    amount: withdrawal.amount,
    destination: withdrawal.destination_address,
  });
  if (refusal !== undefined) return refusal;
  if ((attestation as { statement: { digest: string } }).statement.digest !== withdrawal.digest)
    return 'its attestation names another digest';
  return undefined;
}

/**
 * Signs a rejection of `withdrawal` unless it has one: whatever else happens to it, the releaser will not release
 * it, nor custody pay it, on an earlier approval (the chain check's findings are about withdrawals not judged here).
 */
export async function rejectWithdrawal(
  monitor: MonitorContext,
  tx: Tx,
  withdrawal: WithdrawalRow,
): Promise<void> {
  const rows = await findVerdicts(tx, withdrawal.id);
  if (rows.reject !== undefined && isOwnVerdict(monitor, rows.reject, withdrawal.id)) return;
  const approved =
    rows.approve === undefined ? undefined : signedVerdictOf(rows.approve)?.statement.proof_hash;
  await addVerdict(
    tx,
    verdictRow(monitor, withdrawal, 'reject', approved ?? '', monitor.services.clock.now().toISOString()),
  );
}

/** What a critical finding about `withdrawal` halts, by MONITOR_HALT_SCOPE. */
export function withdrawalHaltScope(monitor: MonitorContext, withdrawal: WithdrawalRow): HaltScope {
  return monitor.haltScope === 'global'
    ? { scope: 'global' }
    : monitor.haltScope === 'asset'
      ? { scope: 'asset', asset: withdrawal.asset, network: null }
      : { scope: 'account', accountId: withdrawal.account_id };
}

/**
 * What a finding halts: by MONITOR_HALT_SCOPE, except `journal_unbounded`, which says only that the account's
 * journal is longer than the verdict reads (a busy account, not evidence of forgery): its withdrawal is refused and
 * the alert pages, but only that account is halted, so one busy customer cannot stop everybody's withdrawals.
 */
export function findingHaltScope(
  monitor: MonitorContext,
  withdrawal: WithdrawalRow,
  finding: Finding,
): HaltScope {
  return finding.check === 'journal_unbounded'
    ? { scope: 'account', accountId: withdrawal.account_id }
    : withdrawalHaltScope(monitor, withdrawal);
}

/** A finding, once per withdrawal and check: recorded, audited as critical, halted on and alerted (grouped by check). */
async function report(
  monitor: MonitorContext,
  tx: Tx,
  withdrawal: WithdrawalRow,
  finding: Finding,
): Promise<void> {
  const scope = findingHaltScope(monitor, withdrawal, finding);
  await reportCriticalFinding(tx, monitor.services, MONITOR_ACTOR, {
    check: finding.check,
    subject: `withdrawal:${withdrawal.id}`,
    findingKey: withdrawal.id,
    detail: finding.detail,
    scope,
    about: {
      withdrawal_id: withdrawal.id.slice(0, 200),
      account_id: withdrawal.account_id.slice(0, 200),
      asset: withdrawal.asset.slice(0, 32),
      amount: withdrawal.amount.slice(0, 64),
      state: withdrawal.state,
    },
    auditData: { state: withdrawal.state },
  });
}
