import { randomFillSync } from 'node:crypto';

/*
 * Random bytes from the operating system's CSPRNG, fetched 4 KiB at a time. One getrandom() call costs about as
 * much as a short SQL statement on a virtual machine, and a withdrawal needs a dozen ids, nonces and tokens;
 * node's own randomUUID() buffers the same way. Each byte is handed out once and wiped from the pool as it goes.
 */

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function secureRandomBytes(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('length must be a whole number');
  if (length > POOL_BYTES / 4) return randomFillSync(Buffer.alloc(length));
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + length));
  pool.fill(0, offset, offset + length);
  offset += length;
  return bytes;
}

export function secureRandomUint32(): number {
  return secureRandomBytes(4).readUInt32BE(0);
}
