import { createHash } from 'node:crypto';
import { invalidInput } from '../errors.ts';
import { secureRandomBytes } from '../random.ts';

/**
 * WebAuthn challenges derived from what is being approved (DESIGN invariant 2). The authenticator
 * signs over the challenge, so a stored assertion plus the public key proves to anyone that the
 * holder approved exactly this digest: the idea of Secure Payment Confirmation without its API.
 */

export const WITHDRAWAL_CHALLENGE_TAG = 'drawbridge/webauthn-challenge/v1';
export const ACTION_CHALLENGE_TAG = 'drawbridge/webauthn-action/v1';
const CHALLENGE_BYTES = 32;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/;
// No newline (the separator) and nothing a server-made nonce would not contain.
const NONCE_PATTERN = /^[A-Za-z0-9+/=_.:-]{8,128}$/;
const ACTION_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** base64url(SHA-256(tag \n digestHex \n nonce)). */
export function withdrawalChallenge(digestHex: string, nonce: string): string {
  if (typeof digestHex !== 'string' || !DIGEST_PATTERN.test(digestHex)) {
    throw invalidInput('digest', 'must be 64 lower-case hex characters');
  }
  return taggedChallenge(WITHDRAWAL_CHALLENGE_TAG, digestHex, checkNonce(nonce));
}

/** The same construction for a step-up of a named action ("mfa.remove", "address.add"). */
export function actionChallenge(action: string, nonce: string): string {
  if (typeof action !== 'string' || !ACTION_PATTERN.test(action)) {
    throw invalidInput('action', 'must be 1..64 characters of a-z, 0-9, _ . : -, starting with a letter');
  }
  return taggedChallenge(ACTION_CHALLENGE_TAG, action, checkNonce(nonce));
}

/** A random challenge for enrolment and sign-in, where there is nothing to bind. */
export function newChallenge(): string {
  return secureRandomBytes(CHALLENGE_BYTES).toString('base64url');
}

function checkNonce(nonce: string): string {
  if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) {
    throw invalidInput('nonce', 'must be 8..128 characters of base64, base64url, hex or a UUID');
  }
  return nonce;
}

function taggedChallenge(tag: string, subject: string, nonce: string): string {
  return createHash('sha256').update(`${tag}\n${subject}\n${nonce}`, 'utf8').digest('base64url');
}
