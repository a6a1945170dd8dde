import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type SignedVerdict, verdictHash, verdictRefusal } from '../monitor/verdict.ts';

export const ATTESTATION_TAG = 'drawbridge/release-attestation/v2';

/**
 * What the release attestation signs: the withdrawal, its digest, the proof that approved it, the payment, and the
 * hash of the independent monitor's verdict (src/core/monitor/verdict.ts) that the release rests on.
 */
export interface ReleaseStatement {
  readonly v: 2;
  readonly withdrawal_id: string;
  readonly digest: string;
  readonly proof_hash: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly destination: string;
  readonly released_at: string;
  readonly monitor_verdict_sha256: string;
}

/**
 * Two signatures, by two keys kept apart: the releaser's over the statement, and the monitor's verdict after it
 * re-verified the proof on its own code path. A custody signer signs nothing unless both verify (A bug or an
 * insider in the approval path would also need the monitor's key).
 */
export interface ReleaseAttestation {
  readonly statement: ReleaseStatement;
  /** Ed25519 over the tag, a newline and the canonical JSON of the statement; base64url. */
  readonly signature: string;
  /** SPKI DER of the signing key, base64url: tells a verifier which key to look up, never trusted by itself. */
  readonly key_id: string;
  readonly monitor: SignedVerdict;
}

/** The two public keys a verifier pins: the release key and the monitor's (both at /.well-known/drawbridge-release-key). */
export interface AttestationKeys {
  readonly release: KeyObject | string;
  readonly monitor: KeyObject | string;
}

const STATEMENT_FIELDS = [
  'withdrawal_id',
  'digest',
  'proof_hash',
  'asset',
  'network',
  'amount',
  'destination',
  'released_at',
  'monitor_verdict_sha256',
] as const;

const PAYMENT_FIELDS = ['withdrawal_id', 'asset', 'network', 'amount', 'destination'] as const;

function message(statement: ReleaseStatement): Buffer {
  const canonical = canonicalize(statement);
  if (canonical === undefined) throw new Error('assertion failed: statement canonicalizes');
  return Buffer.from(`${ATTESTATION_TAG}\n${canonical}`, 'utf8');
}

export function keyId(publicKey: KeyObject): string {
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

export function signRelease(
  privateKey: KeyObject,
  statement: Omit<ReleaseStatement, 'v' | 'monitor_verdict_sha256'>,
  monitor: SignedVerdict,
): ReleaseAttestation {
  const full: ReleaseStatement = { v: 2, ...statement, monitor_verdict_sha256: verdictHash(monitor) };
  const signature = sign(null, message(full), privateKey).toString('base64url');
  return { statement: full, signature, key_id: keyId(createPublicKey(privateKey)), monitor };
}

export interface InstructionTerms {
  readonly withdrawal_id: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly destination: string;
}

/**
 * Why `attestation` does not authorise `instruction`, or undefined when it does: the release signature by
 * `keys.release` over exactly this statement, the monitor's approving verdict by `keys.monitor` for the same
 * withdrawal, digest, proof and payment, pinned by the statement, and both saying what the instruction says.
 * Anything malformed is a reason, never an exception.
 */
export function releaseAttestationRefusal(
  keys: AttestationKeys,
  attestation: unknown,
  instruction?: InstructionTerms,
): string | undefined {
  try {
    const key = typeof keys.release === 'string' ? createPublicKey(keys.release) : keys.release;
    if (key.asymmetricKeyType !== 'ed25519') return 'the release key is not Ed25519';
    if (typeof attestation !== 'object' || attestation === null) return 'no attestation';
    const { statement, signature, monitor } = attestation as {
      statement?: ReleaseStatement;
      signature?: unknown;
      monitor?: unknown;
    };
    if (typeof signature !== 'string' || typeof statement !== 'object' || statement === null)
      return 'the attestation is malformed';
    if (statement.v !== 2) return 'the attestation is of an unknown version';
    if (!STATEMENT_FIELDS.every((f) => typeof statement[f] === 'string'))
      return 'the attestation is malformed';
    if (Object.keys(statement).length !== STATEMENT_FIELDS.length + 1) return 'the attestation is malformed';
    if (instruction !== undefined) {
      for (const f of PAYMENT_FIELDS) {
        if (statement[f] !== instruction[f]) return `the attestation names another ${f.replaceAll('_', ' ')}`;
      }
    }
    if (!verify(null, message(statement), key, Buffer.from(signature, 'base64url')))
      return 'the release signature does not verify';
    if (monitor === undefined) return 'the attestation carries no monitor verdict';
    const refusal = verdictRefusal(keys.monitor, monitor, {
      withdrawal_id: statement.withdrawal_id,
      digest: statement.digest,
      proof_hash: statement.proof_hash,
      asset: statement.asset,
      network: statement.network,
      amount: statement.amount,
      destination: statement.destination,
    });
    if (refusal !== undefined) return refusal;
    if (verdictHash(monitor as SignedVerdict) !== statement.monitor_verdict_sha256)
      return 'the attestation pins another monitor verdict';
    return undefined;
  } catch {
    return 'the attestation could not be checked';
  }
}

/**
 * What an integrator puts in front of their own signer: true only if both signatures verify and the attestation
 * says what the instruction says (releaseAttestationRefusal gives the reason). Anything malformed is false.
 */
export function verifyReleaseAttestation(
  keys: AttestationKeys,
  attestation: unknown,
  instruction?: InstructionTerms,
): boolean {
  return releaseAttestationRefusal(keys, attestation, instruction) === undefined;
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  // PKCS#8 prefix for a raw 32-byte Ed25519 seed (RFC 8410).
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
}
