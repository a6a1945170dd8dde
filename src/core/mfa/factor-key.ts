import { createHash, createHmac, hkdfSync } from 'node:crypto';

/**
 * The fingerprint of a factor's key material as its enrolment's audit entry records it: SHA-256 (hex) of the TOTP
 * secret's base32 text, of a passkey's COSE public key bytes, or of a recovery code's stored hash. A key swapped
 * into the factor table afterwards no longer matches the audit chain, and the monitor refuses what it signed.
 */
export function factorKeyFingerprint(
  factor:
    | { readonly method: 'totp'; readonly secretBase32: string }
    | { readonly method: 'passkey'; readonly publicKeyBase64url: string }
    | { readonly method: 'recovery'; readonly codeHash: string },
): string {
  const bytes =
    factor.method === 'totp'
      ? Buffer.from(factor.secretBase32, 'utf8')
      : factor.method === 'passkey'
        ? Buffer.from(factor.publicKeyBase64url, 'base64url')
        : Buffer.from(factor.codeHash, 'utf8');
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The factor's binding: HMAC-SHA-256 (hex), under a key derived from the TOTP sealing key, over the factor's id,
 * its owner, its method and its key's fingerprint, written when the factor is enrolled. Whoever can write the
 * factor table but holds no key cannot make one: a key swapped in, a factor moved onto another account, a recovery
 * code's hash replaced, all leave a binding that no longer verifies, and the monitor refuses what they proved.
 */
export function factorBinding(
  sealingKey: Buffer,
  factor: {
    readonly id: string;
    readonly principalId: string;
    readonly method: 'totp' | 'passkey' | 'recovery';
    readonly keySha256: string;
  },
): string {
  return createHmac('sha256', bindingKey(sealingKey))
    .update(
      `${BINDING_INFO}\n${factor.id}\n${factor.principalId}\n${factor.method}\n${factor.keySha256}`,
      'utf8',
    )
    .digest('hex');
}

const BINDING_INFO = 'drawbridge/factor-binding/v1';

/**
 * The binding's HMAC key, derived from the sealing key once per key (the monitor recomputes a binding on every
 * verdict, and HKDF cost more than the HMAC). The cache is keyed by the key's buffer and checked against a copy of
 * its bytes, so a buffer written over in place never answers with the old key's derivation.
 */
const bindingKeys = new WeakMap<Buffer, { readonly bytes: Buffer; readonly key: Buffer }>();
function bindingKey(sealingKey: Buffer): Buffer {
  const cached = bindingKeys.get(sealingKey);
  if (cached?.bytes.equals(sealingKey)) return cached.key;
  const key = Buffer.from(hkdfSync('sha256', sealingKey, Buffer.alloc(0), BINDING_INFO, 32));
  bindingKeys.set(sealingKey, { bytes: Buffer.from(sealingKey), key });
  return key;
}
