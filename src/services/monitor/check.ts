import { createPublicKey, type KeyObject } from 'node:crypto';
import { open } from '../../adapters/secret-box.ts';
import { newId } from '../../core/ids.ts';
import { type RecheckFactor, type RecheckFacts, recheckProof } from '../../core/monitor/proof-recheck.ts';
import {
  MONITOR_REFUSED,
  signedVerdictOf,
  signVerdict,
  type VerdictStatement,
  verdictRefusal,
} from '../../core/monitor/verdict.ts';
import { releaseAttestationRefusal } from '../../core/withdrawals/attestation.ts';
import { activeHaltOfScope } from '../../store/halts.ts';
import {
  claimProofToken,
  enrolledKeyFingerprint,
  findFactorRow,
  findTotpClaim,
  findVerdict,
  insertVerdict,
  recordFinding,
  replaceWithReject,
  type VerdictRow,
} from '../../store/monitor.ts';
import { inTransaction, type Tx } from '../../store/transaction.ts';
import { findProof, findWithdrawal, type WithdrawalRow } from '../../store/withdrawals.ts';
import { raiseAlert } from '../alerts.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { placeHalt } from '../halts.ts';
import { totpAssociatedData } from '../identity/second-factor.ts';

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
}

export const MONITOR_ACTOR = 'system:monitor';

export const MONITOR_HALT_SCOPES = ['global', 'asset', 'account'] as const;
export type MonitorHaltScope = (typeof MONITOR_HALT_SCOPES)[number];

/** States in which nothing was approved, or nothing can be paid any more: there is nothing to check. */
const NOTHING_TO_CHECK = new Set(['awaiting_confirmation', 'expired', 'cancelled', 'rejected']);
const PAID_OR_PAYING = new Set(['released', 'broadcast', 'errored', 'completed']);

export interface Finding {
  readonly check: string;
  readonly detail: string;
}

export type CheckOutcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'approved' }
  | { readonly kind: 'already_judged' }
  | { readonly kind: 'refused'; readonly findings: readonly Finding[] };

/**
 * Checks one withdrawal from its raw rows, in one transaction. Not yet judged: the proof is re-verified
 * (src/core/monitor/proof-recheck.ts) and its one-use token claimed, then an approving verdict is signed, or a
 * rejecting one with findings. Released or later: the release attestation is checked against the row and both
 * keys. Every new finding is recorded, raises a critical alert (which pages), halts by policy and is audited.
 */
export async function checkWithdrawal(monitor: MonitorContext, id: string): Promise<CheckOutcome> {
  const { services } = monitor;
  return inTransaction(services.database, async (tx) => {
    const withdrawal = await findWithdrawal(tx, id);
    if (withdrawal === undefined || NOTHING_TO_CHECK.has(withdrawal.state))
      return { kind: 'skipped' as const };
    const now = services.clock.now().toISOString();
    const findings: Finding[] = [];
    let verdict = await findVerdict(tx, id);
    let judgedNow = false;
    // A verdict row the monitor did not sign (written by someone without its key) is a finding, not a judgement.
    if (verdict !== undefined && !isOwnVerdict(monitor, verdict, id)) {
      findings.push({
        check: 'verdict_forged',
        detail: 'a monitor verdict for it was not signed by the monitor',
      });
      verdict = undefined;
    }
    if (verdict === undefined) {
      const facts = await recheckFacts(monitor, tx, withdrawal);
      const recheck = await recheckProof(facts);
      if (!recheck.ok) findings.push({ check: recheck.check, detail: recheck.detail });
      else {
        const first = await claimProofToken(tx, recheck.token, id, now);
        if (first !== id)
          findings.push({ check: 'proof_reuse', detail: `its proof already proved withdrawal ${first}` });
      }
      const proofHash = recheck.ok ? recheck.proofHash : (facts.proof?.proof_hash ?? '');
      verdict = verdictRow(monitor, withdrawal, findings.length === 0 ? 'approve' : 'reject', proofHash, now);
      if (findings.some((f) => f.check === 'verdict_forged')) await replaceWithReject(tx, verdict);
      else await insertVerdict(tx, verdict);
      judgedNow = true;
    }
    if (PAID_OR_PAYING.has(withdrawal.state)) {
      if (judgedNow && findings.length === 0)
        findings.push({ check: 'released_unjudged', detail: 'it was released before the monitor judged it' });
      const refusal = attestationRefusal(monitor, withdrawal);
      if (refusal !== undefined) findings.push({ check: 'attestation', detail: refusal });
    }
    if (findings.length === 0)
      return { kind: judgedNow ? ('approved' as const) : ('already_judged' as const) };
    if (verdict.verdict === 'approve') {
      const judged = JSON.parse(verdict.statement) as { proof_hash?: unknown };
      const proofHash = typeof judged.proof_hash === 'string' ? judged.proof_hash : '';
      await replaceWithReject(tx, verdictRow(monitor, withdrawal, 'reject', proofHash, now));
    }
    for (const finding of findings) await report(monitor, tx, withdrawal, finding, now);
    return { kind: 'refused' as const, findings };
  });
}

async function recheckFacts(
  monitor: MonitorContext,
  tx: Tx,
  withdrawal: WithdrawalRow,
): Promise<RecheckFacts> {
  const { services } = monitor;
  const proof = withdrawal.proof_id === null ? undefined : await findProof(tx, withdrawal.proof_id);
  const factorRow = proof === undefined ? undefined : await findFactorRow(tx, proof.factor_id);
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
    factor = { ...factorRow, totpSecret };
  }
  const step = stepOf(proof?.evidence);
  const owner = factorRow === undefined ? undefined : `customer:${factorRow.principal_id}`;
  return {
    withdrawal,
    proof,
    factor,
    enrolledKeySha256:
      owner === undefined || factorRow === undefined
        ? undefined
        : await enrolledKeyFingerprint(tx, owner, factorRow.id),
    totpClaim:
      step === undefined || proof?.method !== 'totp'
        ? undefined
        : await findTotpClaim(tx, withdrawal.account_id, step),
    relyingParty: services.settings.relyingParty,
  };
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

function isOwnVerdict(monitor: MonitorContext, row: VerdictRow, withdrawalId: string): boolean {
  const signed = signedVerdictOf(row);
  const refusal = verdictRefusal(createPublicKey(monitor.signingKey), signed, {
    withdrawal_id: withdrawalId,
  });
  return (refusal === undefined || refusal === MONITOR_REFUSED) && signed?.statement.verdict === row.verdict;
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

/** A finding, once per withdrawal and check: recorded, audited as critical, alerted (paging) and halted on. */
async function report(
  monitor: MonitorContext,
  tx: Tx,
  withdrawal: WithdrawalRow,
  finding: Finding,
  at: string,
): Promise<void> {
  const { services } = monitor;
  const isNew = await recordFinding(tx, {
    id: newId(),
    withdrawal_id: withdrawal.id,
    check_name: finding.check,
    severity: 'critical',
    detail: finding.detail,
    at,
  });
  if (!isNew) return;
  await audit(tx, services, {
    actor: MONITOR_ACTOR,
    action: 'monitor.finding',
    subject: `withdrawal:${withdrawal.id}`,
    data: { check: finding.check, detail: finding.detail, state: withdrawal.state, severity: 'critical' },
  });
  const scope =
    monitor.haltScope === 'global'
      ? ({ scope: 'global' } as const)
      : monitor.haltScope === 'asset'
        ? ({ scope: 'asset', asset: withdrawal.asset, network: null } as const)
        : ({ scope: 'account', accountId: withdrawal.account_id } as const);
  const halt =
    (await activeHaltOfScope(tx, scope)) ??
    (await placeHalt(tx, services, {
      by: MONITOR_ACTOR,
      scope,
      reason: `monitor: ${finding.check} on withdrawal ${withdrawal.id}: ${finding.detail}`,
    }));
  await raiseAlert(tx, services, {
    kind: `monitor.${finding.check}`,
    severity: 'critical',
    fingerprint: withdrawal.id,
    title: `Monitor: ${finding.detail}`.slice(0, 200),
    subject: `withdrawal:${withdrawal.id}`,
    details: {
      withdrawal_id: withdrawal.id,
      account_id: withdrawal.account_id,
      asset: withdrawal.asset,
      amount: withdrawal.amount,
      state: withdrawal.state,
      check: finding.check,
      halt_id: halt.id,
    },
  });
}
