import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A software WebAuthn authenticator (ES256 on P-256, "none" attestation) for tests. It does what a
 * platform authenticator does, minus the user: user presence and verification are always asserted.
 * Its signature counter is kept per credential so a test can replay an old value on purpose.
 */

type CborValue = Parameters<typeof isoCBOR.encode>[0];

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const COSE_KTY_EC2 = 2;
const COSE_ALG_ES256 = -7;
const COSE_CRV_P256 = 1;

interface SoftCredential {
  readonly id: Buffer;
  readonly rpId: string;
  readonly privateKey: KeyObject;
  readonly userHandle: string;
  counter: number;
}

export interface AssertionOptions {
  /** The counter to put in the authenticator data; by default the stored one plus one. */
  readonly counter?: number;
  /** Which credential to use when the options allow several (or none are listed). */
  readonly credentialId?: string;
  /** False makes an assertion with user presence only, as a security key without a PIN would. */
  readonly userVerified?: boolean;
  /** True makes the assertion a browser would produce inside a cross-origin iframe. */
  readonly crossOrigin?: boolean;
}

export class SoftAuthenticator {
  readonly #credentials = new Map<string, SoftCredential>();
  readonly #aaguid = Buffer.alloc(16);
  /** Some authenticators (synced passkeys) always report 0; this makes one of those. */
  readonly #zeroCounter: boolean;

  constructor(options: { zeroCounter?: boolean } = {}) {
    this.#zeroCounter = options.zeroCounter ?? false;
  }

  createCredential(
    options: PublicKeyCredentialCreationOptionsJSON,
    origin: string,
  ): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = randomBytes(32);
    const credential: SoftCredential = { id, rpId, privateKey, userHandle: options.user.id, counter: 0 };
    this.#credentials.set(id.toString('base64url'), credential);

    const jwk = publicKey.export({ format: 'jwk' });
    const coseKey = new Map<number, CborValue>([
      [1, COSE_KTY_EC2],
      [3, COSE_ALG_ES256],
      [-1, COSE_CRV_P256],
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.byteLength);
    const authData = Buffer.concat([
      authenticatorDataHeader(rpId, FLAG_UP | FLAG_UV | FLAG_AT, credential.counter),
      this.#aaguid,
      idLength,
      id,
      Buffer.from(isoCBOR.encode(coseKey)),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    const clientDataJSON = clientData('webauthn.create', options.challenge, origin, false);
    return {
      id: id.toString('base64url'),
      rawId: id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON,
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  getAssertion(
    options: PublicKeyCredentialRequestOptionsJSON,
    origin: string,
    assertion: AssertionOptions = {},
  ): AuthenticationResponseJSON {
    const credential = this.#pick(options, assertion.credentialId);
    const rpId = options.rpId ?? new URL(origin).hostname;
    const counter = assertion.counter ?? (this.#zeroCounter ? 0 : credential.counter + 1);
    if (assertion.counter === undefined) credential.counter = counter;
    const flags = assertion.userVerified === false ? FLAG_UP : FLAG_UP | FLAG_UV;
    const authData = authenticatorDataHeader(rpId, flags, counter);
    const clientDataJSON = clientData(
      'webauthn.get',
      options.challenge,
      origin,
      assertion.crossOrigin ?? false,
    );
    const clientDataHash = createHash('sha256').update(Buffer.from(clientDataJSON, 'base64url')).digest();
    // Node signs EC keys in DER (ASN.1) form by default, which is what WebAuthn ES256 requires.
    const signature = sign('sha256', Buffer.concat([authData, clientDataHash]), credential.privateKey);
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The counter the authenticator last used for a credential. */
  counterOf(credentialId: string): number {
    const credential = this.#credentials.get(credentialId);
    if (credential === undefined) throw new Error(`no soft credential ${credentialId}`);
    return credential.counter;
  }

  #pick(options: PublicKeyCredentialRequestOptionsJSON, wanted: string | undefined): SoftCredential {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const candidates = [...this.#credentials.entries()].filter(
      ([id]) => (wanted === undefined || id === wanted) && (allowed.length === 0 || allowed.includes(id)),
    );
    const first = candidates[0];
    if (first === undefined) throw new Error('the soft authenticator holds no allowed credential');
    return first[1];
  }
}

function authenticatorDataHeader(rpId: string, flags: number, counter: number): Buffer {
  const header = Buffer.alloc(37);
  createHash('sha256').update(rpId, 'utf8').digest().copy(header, 0);
  header.writeUInt8(flags, 32);
  header.writeUInt32BE(counter, 33);
  return header;
}

function clientData(type: string, challenge: string, origin: string, crossOrigin: boolean): string {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin }), 'utf8').toString('base64url');
}
