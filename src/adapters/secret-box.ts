import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, open as openFile, readFile, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { assert, invalidInput } from '../core/errors.ts';
import { secureRandomBytes } from '../core/random.ts';

/**
 * Secrets at rest (TOTP seeds): AES-256-GCM under a key kept outside the database, so a database
 * dump alone does not yield second factors. The associated data binds a ciphertext to its row
 * (e.g. "totp-secret/<account id>/<enrolment id>"), so sealed values cannot be swapped between rows.
 */

export const SECRET_BOX_KEY_BYTES = 32;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT_BYTES = 64 * 1024;
const MAX_SEALED_LENGTH = 4 * Math.ceil((IV_BYTES + MAX_PLAINTEXT_BYTES + TAG_BYTES) / 3) + 16;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** A sealed value that does not open: tampered, truncated, another row's, or another key's. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

/** 'v1.<iv>.<ciphertext>.<tag>', each part base64url. */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array | string,
  associatedData: Uint8Array | string,
): string {
  checkKey(key);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
  if (data.byteLength > MAX_PLAINTEXT_BYTES) throw invalidInput('plaintext', 'must be at most 64 KiB');
  const iv = secureRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(toBytes(associatedData));
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, ciphertext, tag]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function open(key: Uint8Array, sealed: string, associatedData: Uint8Array | string): Buffer {
  checkKey(key);
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LENGTH) {
    throw new SealedValueError('not a sealed value');
  }
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SealedValueError('not a v1 sealed value');
  const iv = strictBase64url(parts[1]!);
  const ciphertext = parts[2] === '' ? Buffer.alloc(0) : strictBase64url(parts[2]!);
  const tag = strictBase64url(parts[3]!);
  if (iv.byteLength !== IV_BYTES || tag.byteLength !== TAG_BYTES) {
    throw new SealedValueError('sealed value has a malformed iv or tag');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(toBytes(associatedData));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new SealedValueError('sealed value failed authentication (tampered, or another key or row)');
  }
}

/**
 * A symmetric key or signing seed: from `envValue` (base64) when given, else from
 * `<dataDir>/<fileName>`, else freshly generated and written there with mode 0600. Creation writes
 * a private temporary file and hard-links it into place, which fails if the name exists: two
 * processes starting at once agree on one key, and no reader ever sees a half-written file.
 */
export async function loadKey(options: {
  envValue?: string | undefined;
  dataDir: string;
  fileName: string;
  length_bytes?: number;
}): Promise<Buffer> {
  const length = options.length_bytes ?? SECRET_BOX_KEY_BYTES;
  if (!Number.isInteger(length) || length < 16 || length > 128) {
    throw invalidInput('length_bytes', 'must be 16..128');
  }
  if (options.envValue !== undefined && options.envValue !== '') {
    return decodeKey(options.envValue, length, 'envValue');
  }
  if (options.fileName !== basename(options.fileName) || options.fileName.startsWith('.')) {
    throw invalidInput('fileName', 'must be a plain file name');
  }
  const path = join(options.dataDir, options.fileName);
  const existing = await readKeyFile(path, length);
  if (existing !== null) return existing;

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(length);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await openFile(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`, 'ascii');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process won the race: its key is the key.
    const winner = await readKeyFile(path, length);
    if (winner === null) throw new Error(`key file ${path} vanished while being created`);
    return winner;
  } finally {
    await unlink(temporary);
  }
  await syncDirectory(options.dataDir);
  return key;
}

async function readKeyFile(path: string, length: number): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, 'ascii');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return decodeKey(text.trim(), length, path);
}

function decodeKey(text: string, length: number, field: string): Buffer {
  if (text.length > 4 * length || !BASE64_PATTERN.test(text)) {
    throw invalidInput(field, `must be the base64 of ${length} bytes`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.byteLength !== length) throw invalidInput(field, `must be the base64 of ${length} bytes`);
  return key;
}

/** Makes the new directory entry durable; losing the key would make every sealed value unreadable. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof openFile>> | undefined;
  try {
    handle = await openFile(dir, 'r');
    await handle.sync();
  } catch {
    // Not every platform can open or fsync a directory; the file itself was synced.
  } finally {
    await handle?.close();
  }
}

function checkKey(key: Uint8Array): void {
  assert(
    key instanceof Uint8Array && key.byteLength === SECRET_BOX_KEY_BYTES,
    'a secret box key is 32 bytes',
  );
}

function strictBase64url(text: string): Buffer {
  if (!BASE64URL_PATTERN.test(text)) throw new SealedValueError('sealed value is not base64url');
  const bytes = Buffer.from(text, 'base64url');
  // Only the canonical spelling opens, so no two strings decode to the same sealed value.
  if (bytes.toString('base64url') !== text) throw new SealedValueError('sealed value is not canonical');
  return bytes;
}

function toBytes(value: Uint8Array | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}
