import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import canonicalize from 'canonicalize';

/**
 * The monitor's own re-verification of a withdrawal's proof, from the raw rows, with none of the approval path's
 * functions: the digest formula, the proof hash, HOTP (RFC 4226) and the passkey challenge are computed here again,
 * and the assertion goes to SimpleWebAuthn directly. Two implementations of the same published formulas: a bug,
 * or a hand, in one of them is seen by the other. Pure (no I/O); the facts are gathered by
 * src/services/monitor/check.ts, trusting nothing the approval path wrote about its own decision.
 */

/** The withdrawal as its row has it. */
export interface RecheckWithdrawal {
  readonly id: string;
  readonly account_id: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly fee: string;
  readonly destination_address: string;
  readonly nonce: string;
  readonly digest: string;
  readonly created_at: string;
  /** The end of its confirmation window: a proof's TOTP step lies between created_at and this. */
  readonly expires_at: string;
}

export interface RecheckProof {
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly digest: string;
  readonly method: string;
  readonly factor_id: string;
  readonly evidence: string;
  readonly proof_hash: string;
  readonly created_at: string;
}

/** The factor the proof names, as the factor table has it now (its TOTP secret opened by the monitor). */
export interface RecheckFactor {
  readonly id: string;
  readonly principal_id: string;
  readonly method: string;
  /** The TOTP secret (base32), opened with the sealing key; undefined when it is not a TOTP factor or would not open. */
  readonly totpSecret: string | undefined;
  readonly credential_id: string | null;
  readonly public_key: string | null;
  readonly code_hash: string | null;
  readonly used_at: string | null;
  readonly status: string;
  readonly removed_at: string | null;
  /** Every time the factor's status became removed, as the database recorded it (factor_removals, append-only). */
  readonly removals: readonly string[];
  /**
   * Whether the factor's binding (an HMAC under a key derived from the sealing key, over its id, owner, method and
   * key fingerprint, written at enrolment: src/core/mfa/factor-key.ts) verifies for the row as it is now.
   */
  readonly bindingValid: boolean;
  /** The epochs the factor was activated under (they never change afterwards: migration 0055). */
  readonly global_epoch: number;
  readonly method_epoch: number;
  readonly principal_epoch: number;
  /**
   * The epochs in force now: every customer's (a mass revocation moves one) and the owner's own; undefined when they
   * could not be read. A factor counts only while its epochs are these.
   */
  readonly currentEpochs:
    | {
        readonly mfa: number;
        readonly totp: number;
        readonly passkey: number;
        readonly recovery: number;
        readonly principal: number;
      }
    | undefined;
}

export interface RecheckFacts {
  readonly withdrawal: RecheckWithdrawal;
  readonly proof: RecheckProof | undefined;
  readonly factor: RecheckFactor | undefined;
  /** The key fingerprint the factor's enrolment recorded in the audit log, or undefined when none was found. */
  readonly enrolledKeySha256: string | undefined;
  /** The claim of the TOTP step the evidence names, for this account (totp_claims), if any. */
  readonly totpClaim: { readonly purpose: string; readonly factor_id: string } | undefined;
  readonly relyingParty: { readonly id: string; readonly origins: readonly string[] };
}

/** The one-use token of a TOTP proof that verifies: the account's step (the monitor reads its first use ahead). */
export function totpProofToken(accountId: string, step: number): string {
  return `totp:${accountId}:${step}`;
}

export type Recheck =
  | {
      readonly ok: true;
      /** The digest the monitor derived, and the proof hash it computed (what its verdict signs). */
      readonly digest: string;
      readonly proofHash: string;
      /** The proof's one-use token: the same token in two withdrawals is proof reuse. */
      readonly token: string;
    }
  | { readonly ok: false; readonly check: string; readonly detail: string };

const DIGEST_TAG = 'drawbridge/withdrawal/v1';
const PROOF_TAG = 'drawbridge/withdrawal-proof/v1';
const CHALLENGE_TAG = 'drawbridge/webauthn-challenge/v1';
const TOTP_PERIOD_S = 30;
const TOTP_DIGITS = 6;
/** The steps either side of the confirmation's own that the approval path may have accepted (clock drift). */
const TOTP_DRIFT_STEPS = 1;

function canonicalText(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('the value does not canonicalize');
  return text;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SHA-256 over the digest tag and the RFC 8785 JSON of the row's terms: the published formula, computed here. */
export function rederiveDigest(w: RecheckWithdrawal): string {
  const terms = {
    v: 1,
    withdrawal_id: w.id,
    account_id: w.account_id,
    asset: w.asset,
    network: w.network,
    amount: w.amount,
    fee: w.fee,
    destination: w.destination_address,
    nonce: w.nonce,
  };
  return sha256Hex(`${DIGEST_TAG}\n${canonicalText(terms)}`);
}

/** RFC 4226 HOTP with HMAC-SHA-1 and 6 digits (the enrolment's parameters), from the base32 secret. */
export function hotp(secretBase32: string, counter: number): string {
  const key = base32Bytes(secretBase32);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, '0');
}

function base32Bytes(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error('the TOTP secret is not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function fingerprint(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function refused(check: string, detail: string): Recheck {
  return { ok: false, check, detail };
}

/**
 * Whether a factor still counts: activated under the epochs in force now, every customer's for its method and its
 * owner's own (the monitor's own reading of the rule; the approval path's is src/store/identity/factors.ts). A
 * withdrawal confirmed just before a revocation is refused too when the monitor checks it after: the revocation
 * said its factor is not to be trusted.
 */
function epochsCurrent(factor: RecheckFactor): boolean {
  const now = factor.currentEpochs;
  if (now === undefined) return false;
  const method =
    factor.method === 'totp'
      ? now.totp
      : factor.method === 'passkey'
        ? now.passkey
        : factor.method === 'recovery'
          ? now.recovery
          : undefined;
  return (
    method !== undefined &&
    factor.global_epoch === now.mfa &&
    factor.method_epoch === method &&
    factor.principal_epoch === now.principal
  );
}

/**
 * Re-verifies the withdrawal's proof: the digest of its terms, the proof row bound to it, the evidence's hash, the
 * factor's key against its enrolment, and the second factor itself (the TOTP code at its step and that step's one
 * claim, the recovery code's hash and its spending, the passkey assertion over the digest-derived challenge).
 */
export async function recheckProof(facts: RecheckFacts): Promise<Recheck> {
  const { withdrawal, proof, factor } = facts;
  const digest = rederiveDigest(withdrawal);
  if (digest !== withdrawal.digest)
    return refused('digest', 'the digest is not that of the terms on the row');
  if (proof === undefined) return refused('proof', 'no proof row');
  if (proof.withdrawal_id !== withdrawal.id || proof.account_id !== withdrawal.account_id)
    return refused('proof', 'the proof row names another withdrawal or account');
  if (proof.digest !== digest) return refused('proof', 'the proof approves another digest');
  let evidence: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(proof.evidence);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    evidence = parsed as Record<string, unknown>;
  } catch {
    return refused('evidence', 'the evidence is not a JSON object');
  }
  const proofHash = sha256Hex(`${PROOF_TAG}\n${canonicalText(evidence)}`);
  if (proofHash !== proof.proof_hash)
    return refused('evidence', 'the evidence does not hash to the proof hash');
  if (evidence.withdrawal_id !== withdrawal.id || evidence.digest !== digest)
    return refused('evidence', 'the evidence names another withdrawal or digest');
  if (evidence.method !== proof.method || evidence.factor_id !== proof.factor_id)
    return refused('evidence', 'the evidence names another method or factor');
  if (factor === undefined || factor.id !== proof.factor_id || factor.principal_id !== withdrawal.account_id)
    return refused('factor', "the proof's factor is not one of the account's");
  // Active and never removed; a recovery code is removed by its own spending, and by nothing else: a code
  // replaced (or a passkey taken off) and then set back still has its removal on record.
  const spentRecoveryCode =
    factor.method === 'recovery' &&
    factor.used_at !== null &&
    factor.removed_at === factor.used_at &&
    factor.removals.length === 1 &&
    factor.removals[0] === factor.used_at;
  if (
    !spentRecoveryCode &&
    (factor.status !== 'active' || factor.removed_at !== null || factor.removals.length > 0)
  )
    return refused('factor_removed', "the proof's factor is not active, or was removed once");
  if (!factor.bindingValid)
    return refused('factor_binding', "the factor's key, owner or method is not the one it was enrolled with");
  if (!epochsCurrent(factor))
    return refused(
      'factor_revoked',
      "the proof's factor was revoked after it was activated (a mass or an account's revocation of second factors)",
    );
  const ok = (token: string): Recheck => ({ ok: true, digest, proofHash, token });
  switch (proof.method) {
    case 'totp': {
      if (factor.method !== 'totp' || factor.totpSecret === undefined)
        return refused('factor', 'the factor is not an authenticator app whose secret opens');
      if (facts.enrolledKeySha256 !== fingerprint(Buffer.from(factor.totpSecret, 'utf8')))
        return refused('factor_key', "the authenticator's secret is not the one its enrolment recorded");
      const step = evidence.step;
      const code = evidence.code;
      if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)
        return refused('totp', 'the evidence has no TOTP step');
      if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code))
        return refused('totp', 'the evidence has no TOTP code');
      const confirmedStep = Math.floor(Date.parse(proof.created_at) / 1000 / TOTP_PERIOD_S);
      if (!(Math.abs(step - confirmedStep) <= TOTP_DRIFT_STEPS))
        return refused('totp', 'the TOTP step is not the time of the confirmation');
      // And within the withdrawal's own life: an earlier code, replayed with its old time, is outside it.
      const firstStep =
        Math.floor(Date.parse(withdrawal.created_at) / 1000 / TOTP_PERIOD_S) - TOTP_DRIFT_STEPS;
      const lastStep =
        Math.floor(Date.parse(withdrawal.expires_at) / 1000 / TOTP_PERIOD_S) + TOTP_DRIFT_STEPS;
      if (!(step >= firstStep && step <= lastStep))
        return refused('totp', "the TOTP step is outside the withdrawal's confirmation window");
      const expected = Buffer.from(hotp(factor.totpSecret, step), 'ascii');
      if (!timingSafeEqual(expected, Buffer.from(code, 'ascii')))
        return refused('totp', 'the TOTP code is not the code of the secret at that step');
      if (facts.totpClaim === undefined) return refused('totp_claim', 'the TOTP step was never claimed');
      if (
        facts.totpClaim.purpose !== `withdrawal:${withdrawal.id}` ||
        facts.totpClaim.factor_id !== factor.id
      )
        return refused(
          'totp_claim',
          `the TOTP step was claimed for ${facts.totpClaim.purpose}, not this withdrawal`,
        );
      return ok(totpProofToken(withdrawal.account_id, step));
    }
    case 'recovery_code': {
      if (factor.method !== 'recovery' || factor.code_hash === null)
        return refused('factor', 'the factor is not a recovery code');
      // The code itself, hashed here: a hash in the evidence could be copied from the factor table.
      if (typeof evidence.code !== 'string' || !/^[0-9A-Z]{16}$/.test(evidence.code))
        return refused('recovery_code', 'the evidence has no recovery code');
      if (sha256Hex(evidence.code) !== factor.code_hash)
        return refused('recovery_code', "the recovery code is not the factor's");
      if (facts.enrolledKeySha256 !== fingerprint(Buffer.from(factor.code_hash, 'utf8')))
        return refused('factor_key', 'the recovery code is not one its issue recorded');
      if (factor.used_at === null) return refused('recovery_code', 'the recovery code was never spent');
      if (factor.used_at < withdrawal.created_at || factor.used_at > proof.created_at)
        return refused('recovery_code', 'the recovery code was not spent by this confirmation');
      return ok(`recovery:${factor.id}`);
    }
    case 'passkey': {
      if (factor.method !== 'passkey' || factor.public_key === null || factor.credential_id === null)
        return refused('factor', 'the factor is not a passkey');
      let keyBytes: Buffer;
      try {
        keyBytes = Buffer.from(factor.public_key, 'base64url');
      } catch {
        return refused('factor_key', "the passkey's public key is malformed");
      }
      if (facts.enrolledKeySha256 !== fingerprint(keyBytes))
        return refused('factor_key', "the passkey's public key is not the one its registration recorded");
      if (typeof evidence.nonce !== 'string' || evidence.nonce !== withdrawal.nonce)
        return refused('passkey', 'the evidence names another nonce');
      const challenge = createHash('sha256')
        .update(`${CHALLENGE_TAG}\n${digest}\n${withdrawal.nonce}`, 'utf8')
        .digest('base64url');
      if ((evidence.assertion as { id?: unknown } | null)?.id !== factor.credential_id)
        return refused('passkey', 'the assertion is for another passkey');
      if (evidence.challenge !== challenge)
        return refused('passkey', 'the challenge is not the one derived from the digest');
      try {
        const result = await verifyAuthenticationResponse({
          // biome-ignore lint/suspicious/noExplicitAny: the library validates the shape itself
          response: evidence.assertion as any,
          expectedChallenge: challenge,
          expectedOrigin: [...facts.relyingParty.origins],
          expectedRPID: facts.relyingParty.id,
          credential: { id: factor.credential_id, publicKey: Uint8Array.from(keyBytes), counter: 0 },
          requireUserVerification: true,
        });
        if (!result.verified) return refused('passkey', 'the assertion does not verify');
      } catch {
        return refused('passkey', 'the assertion does not verify');
      }
      return ok(`passkey:${challenge}`);
    }
    default:
      return refused('proof', `unknown proof method ${String(proof.method)}`);
  }
}
