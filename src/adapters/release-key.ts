import { createPublicKey, type KeyObject } from 'node:crypto';
import { privateKeyFromSeed } from '../core/withdrawals/attestation.ts';
import { loadKey } from './secret-box.ts';

/**
 * The Ed25519 release-signing key: a 32-byte seed from RELEASE_SIGNING_KEY (base64), or, in the embedded default,
 * generated at first start into the data directory with mode 0600.
 */
export async function loadReleaseKey(options: {
  envValue: string | undefined;
  dataDir: string;
}): Promise<KeyObject> {
  const seed = await loadKey({
    envValue: options.envValue,
    dataDir: options.dataDir,
    fileName: 'release-signing.key',
    length_bytes: 32,
  });
  return privateKeyFromSeed(seed);
}

export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
}
