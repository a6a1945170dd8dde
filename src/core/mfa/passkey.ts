import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { assert, DomainError, invalidInput } from '../errors.ts';
import { base64url, parseAuthenticationResponse, parseRegistrationResponse } from './passkey-response.ts';

/**
 * Passkeys (WebAuthn) with Drawbridge's settings: user verification required, no attestation, and
 * every library failure turned into a DomainError. The challenge is always chosen by the caller
 * (random for enrolment and sign-in, derived from a digest for withdrawals, see passkey-challenge.ts).
 */

export interface RelyingParty {
  /** The RP ID: the registrable domain, e.g. "drawbridge.example". */
  readonly id: string;
  readonly name: string;
  /** Every origin a ceremony may come from, e.g. "https://app.drawbridge.example". */
  readonly origins: readonly string[];
}

export interface StoredPasskey {
  readonly id: string;
  /** COSE public key, base64url. */
  readonly publicKey: string;
  readonly counter: number;
}

export interface RegisteredPasskey extends StoredPasskey {
  readonly credentialId: string;
  readonly transports: readonly string[];
  readonly aaguid: string;
  readonly backedUp: boolean;
}

/** `details.reason` of the error raised when the signature counter goes backwards or stalls. */
export const SIGN_COUNTER_NOT_INCREASED = 'sign_counter_not_increased';

// EdDSA, ES256, RS256: fixed, so the accepted algorithms do not change with the Node version.
const SUPPORTED_ALGORITHMS = [-8, -7, -257];
const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;
const MIN_CHALLENGE_BYTES = 16;
const MAX_CHALLENGE_BYTES = 64;
const MAX_USER_ID_BYTES = 64;
const MAX_USER_NAME_LENGTH = 256;
const MAX_LISTED_CREDENTIALS = 100;
const MAX_COUNTER = 0xffffffff;

export async function registrationOptions(input: {
  rp: RelyingParty;
  userId: string;
  userName: string;
  userDisplayName?: string;
  excludeCredentialIds?: readonly string[];
  challenge: string;
}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  checkRelyingParty(input.rp);
  const userID = new TextEncoder().encode(input.userId);
  if (userID.byteLength === 0 || userID.byteLength > MAX_USER_ID_BYTES) {
    throw invalidInput('userId', `must be 1..${MAX_USER_ID_BYTES} bytes`);
  }
  checkName('userName', input.userName);
  const userDisplayName = input.userDisplayName ?? input.userName;
  checkName('userDisplayName', userDisplayName);
  return generateRegistrationOptions({
    rpName: input.rp.name,
    rpID: input.rp.id,
    userID,
    userName: input.userName,
    userDisplayName,
    challenge: challengeBytes(input.challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: credentialList('excludeCredentialIds', input.excludeCredentialIds ?? []),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
}

export async function verifyRegistration(input: {
  response: unknown;
  expectedChallenge: string;
  rp: RelyingParty;
}): Promise<RegisteredPasskey> {
  checkRelyingParty(input.rp);
  const parsed = parseRegistrationResponse(input.response);
  const result = await asVerification('passkey registration', () =>
    verifyRegistrationResponse({
      response: parsed.json,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: [...input.rp.origins],
      expectedRPID: input.rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    }),
  );
  if (!result.verified) throw unauthenticated('passkey registration did not verify');
  const info = result.registrationInfo;
  // The id the client names must be the one inside the signed authenticator data.
  if (info.credential.id !== parsed.json.id) throw unauthenticated('passkey registration names another id');
  const publicKey = Buffer.from(info.credential.publicKey).toString('base64url');
  return {
    id: info.credential.id,
    credentialId: info.credential.id,
    publicKey,
    counter: info.credential.counter,
    transports: [...(parsed.json.response.transports ?? [])],
    aaguid: info.aaguid,
    backedUp: info.credentialBackedUp,
  };
}

export async function authenticationOptions(input: {
  rp: RelyingParty;
  allowCredentialIds: readonly string[];
  challenge: string;
}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  checkRelyingParty(input.rp);
  return generateAuthenticationOptions({
    rpID: input.rp.id,
    allowCredentials: credentialList('allowCredentialIds', input.allowCredentialIds),
    challenge: challengeBytes(input.challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'required',
  });
}

/**
 * Verifies an assertion against the stored credential. Sign counter rule (WebAuthn 6.1.1): when
 * either counter is non-zero the new one must be strictly greater, else the authenticator was
 * cloned or the assertion replayed. It is checked after the signature, so only a real signature
 * by this credential can raise the "cloned authenticator" reason.
 */
export async function verifyAuthentication(input: {
  response: unknown;
  expectedChallenge: string;
  rp: RelyingParty;
  credential: StoredPasskey;
}): Promise<{ newCounter: number; userVerified: boolean }> {
  const stored = input.credential;
  assert(Number.isInteger(stored.counter) && stored.counter >= 0, 'a stored sign counter is a uint32');
  assert(stored.counter <= MAX_COUNTER, 'a stored sign counter is a uint32');
  const { counter: newCounter, userVerified } = await verifyAssertionSignature(input);
  if ((stored.counter > 0 || newCounter > 0) && newCounter <= stored.counter) {
    throw new DomainError(
      'UNAUTHENTICATED',
      'the passkey sign counter did not increase: a cloned authenticator or a replayed assertion',
      { details: { reason: SIGN_COUNTER_NOT_INCREASED } },
    );
  }
  return { newCounter, userVerified };
}

/**
 * Re-verifies a stored assertion as evidence (the monitor, an auditor): the signature, challenge,
 * origin, RP ID and user verification, but not the counter, which has moved on since.
 */
export async function verifyAssertionEvidence(input: {
  response: unknown;
  expectedChallenge: string;
  rp: RelyingParty;
  credential: Pick<StoredPasskey, 'id' | 'publicKey'>;
}): Promise<{ counter: number }> {
  const { counter } = await verifyAssertionSignature(input);
  return { counter };
}

async function verifyAssertionSignature(input: {
  response: unknown;
  expectedChallenge: string;
  rp: RelyingParty;
  credential: Pick<StoredPasskey, 'id' | 'publicKey'>;
}): Promise<{ counter: number; userVerified: boolean }> {
  checkRelyingParty(input.rp);
  const stored = input.credential;
  const publicKey = base64url(stored.publicKey, 'credential/publicKey');
  const parsed = parseAuthenticationResponse(input.response);
  if (parsed.json.id !== stored.id) throw unauthenticated('the assertion is for another passkey');
  // A ceremony inside another site's frame is how a withdrawal confirmation gets clickjacked.
  if (parsed.clientData.crossOrigin) throw unauthenticated('a cross-origin assertion is refused');
  const result = await asVerification('passkey assertion', () =>
    verifyAuthenticationResponse({
      response: parsed.json,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: [...input.rp.origins],
      expectedRPID: input.rp.id,
      // Counter 0 switches the library's own counter check off, so ours runs after the signature.
      credential: { id: stored.id, publicKey, counter: 0 },
      requireUserVerification: true,
    }),
  );
  if (!result.verified) throw unauthenticated('passkey assertion did not verify');
  const info = result.authenticationInfo;
  assert(info.newCounter === parsed.counter, 'the library read the counter we parsed');
  return { counter: info.newCounter, userVerified: info.userVerified };
}

async function asVerification<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof DomainError) throw cause;
    // The library's message stays in `cause` (for logs): it may quote the expected challenge.
    throw new DomainError('UNAUTHENTICATED', `${what} did not verify`, { cause });
  }
}

function unauthenticated(message: string): DomainError {
  return new DomainError('UNAUTHENTICATED', message);
}

function challengeBytes(challenge: string): Uint8Array<ArrayBuffer> {
  if (typeof challenge !== 'string') throw invalidInput('challenge', 'must be base64url');
  const bytes = base64url(challenge, 'challenge');
  if (bytes.byteLength < MIN_CHALLENGE_BYTES || bytes.byteLength > MAX_CHALLENGE_BYTES) {
    throw invalidInput('challenge', `must be ${MIN_CHALLENGE_BYTES}..${MAX_CHALLENGE_BYTES} bytes`);
  }
  return Uint8Array.from(bytes);
}

function credentialList(field: string, ids: readonly string[]): { id: string }[] {
  if (!Array.isArray(ids) || ids.length > MAX_LISTED_CREDENTIALS) {
    throw invalidInput(field, `must be an array of at most ${MAX_LISTED_CREDENTIALS} ids`);
  }
  return ids.map((id, i) => {
    if (typeof id !== 'string') throw invalidInput(`${field}/${i}`, 'must be base64url');
    base64url(id, `${field}/${i}`);
    return { id };
  });
}

function checkName(field: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_USER_NAME_LENGTH) {
    throw invalidInput(field, `must be 1..${MAX_USER_NAME_LENGTH} characters`);
  }
}

function checkRelyingParty(rp: RelyingParty): void {
  assert(typeof rp.id === 'string' && rp.id.length > 0, 'the RP ID is configured');
  assert(typeof rp.name === 'string' && rp.name.length > 0, 'the RP name is configured');
  assert(Array.isArray(rp.origins) && rp.origins.length > 0, 'at least one expected origin is configured');
  for (const origin of rp.origins) {
    assert(/^https?:\/\/[^/]+$/.test(origin), `expected origin ${origin} is scheme://host[:port]`);
  }
}
