import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const WITHDRAWAL_DIGEST_TAG = 'drawbridge/withdrawal/v1';

/** Exactly what a customer approves. Change any field and the digest, and so every proof for it, changes. */
export interface WithdrawalTerms {
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  /** Base units, decimal digits. */
  readonly amount: string;
  readonly fee: string;
  readonly destination: string;
  readonly nonce: string;
}

/**
 * The canonical digest (DESIGN invariant 1): SHA-256 over the domain tag, a newline and the RFC 8785 canonical
 * JSON of the terms. Anyone can reproduce it from the terms alone.
 */
export function withdrawalDigest(terms: WithdrawalTerms): string {
  const canonical = canonicalize({
    v: 1,
    withdrawal_id: terms.withdrawal_id,
    account_id: terms.account_id,
    asset: terms.asset,
    network: terms.network,
    amount: terms.amount,
    fee: terms.fee,
    destination: terms.destination,
    nonce: terms.nonce,
  });
  if (canonical === undefined) throw new Error('assertion failed: terms canonicalize');
  return createHash('sha256').update(`${WITHDRAWAL_DIGEST_TAG}\n${canonical}`, 'utf8').digest('hex');
}

/** The hash a proof is known by: over its canonical evidence, so the attestation pins the exact proof. */
export function proofHash(evidence: unknown): string {
  const canonical = canonicalize(evidence);
  if (canonical === undefined) throw new Error('assertion failed: evidence canonicalizes');
  return createHash('sha256').update(`drawbridge/withdrawal-proof/v1\n${canonical}`, 'utf8').digest('hex');
}
