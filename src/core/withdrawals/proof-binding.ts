import { proofHash, withdrawalDigest } from './digest.ts';

/** The columns of a withdrawal row that say what would be paid, and the digest stored with them. */
export interface WithdrawalTermsRow {
  readonly id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly destination_address: string;
  readonly nonce: string;
  readonly digest: string;
}

/** The stored proof of a withdrawal, as its row has it. */
export interface ProofRowFields {
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly digest: string;
  readonly evidence: string;
  readonly proof_hash: string;
}

/**
 * The digest of what the row says would be paid. It differs from the stored digest only when the row was written
 * around the services (a database edit): every proof approves the stored digest, so such a row is never paid.
 */
export function digestOfTerms(withdrawal: WithdrawalTermsRow): string {
  return withdrawalDigest({
    withdrawal_id: withdrawal.id,
    account_id: withdrawal.account_id,
    asset: withdrawal.asset,
    network: withdrawal.network,
    amount: withdrawal.amount,
    fee: withdrawal.fee,
    destination: withdrawal.destination_address,
    nonce: withdrawal.nonce,
  });
}

export type ProofBinding =
  | { readonly ok: true; readonly proofHash: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Is the stored proof present, bound to this withdrawal and its digest, and the digest that of its terms? Checks
 * the row's consistency only; re-verifying the proof's cryptography from raw evidence is the monitor's.
 */
export function proofBinding(
  withdrawal: WithdrawalTermsRow,
  proof: ProofRowFields | undefined,
): ProofBinding {
  if (proof === undefined) return { ok: false, reason: 'the proof row is missing' };
  if (proof.withdrawal_id !== withdrawal.id || proof.account_id !== withdrawal.account_id)
    return { ok: false, reason: 'the proof names another withdrawal' };
  const recomputed = digestOfTerms(withdrawal);
  if (recomputed !== withdrawal.digest || proof.digest !== recomputed)
    return { ok: false, reason: 'the digest does not match the withdrawal terms' };
  let evidence: unknown;
  try {
    evidence = JSON.parse(proof.evidence);
  } catch {
    return { ok: false, reason: 'the proof evidence is not JSON' };
  }
  const hash = proofHash(evidence);
  if (hash !== proof.proof_hash) return { ok: false, reason: 'the proof evidence was altered' };
  const bound = evidence as { withdrawal_id?: unknown; digest?: unknown };
  if (bound.withdrawal_id !== withdrawal.id || bound.digest !== recomputed)
    return { ok: false, reason: 'the evidence names another withdrawal' };
  return { ok: true, proofHash: hash };
}
