import { createPublicKey, type KeyObject } from 'node:crypto';
import { privateKeyFromSeed } from '../core/withdrawals/attestation.ts';
import { loadKey } from './secret-box.ts';

/**
 * An Ed25519 signing key: a 32-byte seed from the environment (base64), or, in the embedded default, generated at
 * first start into the data directory with mode 0600. Two are loaded this way, kept apart: the release key
 * (RELEASE_SIGNING_KEY, release-signing.key) and the monitor's (MONITOR_SIGNING_KEY, monitor-signing.key).
 */
export async function loadSigningKey(options: {
  envValue: string | undefined;
  dataDir: string;
  fileName: 'release-signing.key' | 'monitor-signing.key';
}): Promise<KeyObject> {
  const seed = await loadKey({ ...options, length_bytes: 32 });
  return privateKeyFromSeed(seed);
}

/** The release-signing key (RELEASE_SIGNING_KEY, or release-signing.key in the data directory). */
export async function loadReleaseKey(options: {
  envValue: string | undefined;
  dataDir: string;
}): Promise<KeyObject> {
  return loadSigningKey({ ...options, fileName: 'release-signing.key' });
}

export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
}
