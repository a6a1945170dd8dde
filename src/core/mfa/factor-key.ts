import { createHash } from 'node:crypto';

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
