import { V7Generator } from 'uuidv7';
import { secureRandomUint32 } from './random.ts';

const generator = new V7Generator({ nextUint32: secureRandomUint32 });

/** Time-ordered ids (UUIDv7, RFC 9562): index-friendly and sortable by creation. */
export function newId(): string {
  return generator.generate().toString();
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
