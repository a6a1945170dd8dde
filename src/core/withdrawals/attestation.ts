import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

export const ATTESTATION_TAG = 'drawbridge/release-attestation/v1';

/** What the release attestation signs: the withdrawal, its digest, the proof that approved it and the payment. */
export interface ReleaseStatement {
  readonly v: 1;
  readonly withdrawal_id: string;
  readonly digest: string;
  readonly proof_hash: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly destination: string;
  readonly released_at: string;
}

export interface ReleaseAttestation {
  readonly statement: ReleaseStatement;
  /** Ed25519 over the tag, a newline and the canonical JSON of the statement; base64url. */
  readonly signature: string;
  /** SPKI DER of the signing key, base64url: tells a verifier which key to look up, never trusted by itself. */
  readonly key_id: string;
}

function message(statement: ReleaseStatement): Buffer {
  const canonical = canonicalize(statement);
  if (canonical === undefined) throw new Error('assertion failed: statement canonicalizes');
  return Buffer.from(`${ATTESTATION_TAG}\n${canonical}`, 'utf8');
}

export function keyId(publicKey: KeyObject): string {
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

export function signRelease(privateKey: KeyObject, statement: ReleaseStatement): ReleaseAttestation {
  const signature = sign(null, message(statement), privateKey).toString('base64url');
  return { statement, signature, key_id: keyId(createPublicKey(privateKey)) };
}

/**
 * What an integrator puts in front of their own signer: true only if `attestation` is a valid Ed25519 signature by
 * `publicKey` over exactly this statement, and the statement says what the instruction says. Anything malformed
 * is false, never an exception.
 */
export function verifyReleaseAttestation(
  publicKey: KeyObject | string,
  attestation: unknown,
  instruction?: {
    withdrawal_id: string;
    asset: string;
    network: string;
    amount: string;
    destination: string;
  },
): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    if (key.asymmetricKeyType !== 'ed25519') return false;
    if (typeof attestation !== 'object' || attestation === null) return false;
    const { statement, signature } = attestation as { statement?: ReleaseStatement; signature?: unknown };
    if (typeof signature !== 'string' || statement === undefined || statement.v !== 1) return false;
    const fields = [
      'withdrawal_id',
      'digest',
      'proof_hash',
      'asset',
      'network',
      'amount',
      'destination',
      'released_at',
    ] as const;
    if (!fields.every((f) => typeof statement[f] === 'string')) return false;
    if (Object.keys(statement).length !== fields.length + 1) return false;
    if (instruction !== undefined) {
      for (const f of ['withdrawal_id', 'asset', 'network', 'amount', 'destination'] as const) {
        if (statement[f] !== instruction[f]) return false;
      }
    }
    return verify(null, message(statement), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  // PKCS#8 prefix for a raw 32-byte Ed25519 seed (RFC 8410).
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
}
