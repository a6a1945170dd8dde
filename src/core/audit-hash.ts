import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { assert } from './errors.ts';

/**
 * The audit chain's hash, reproducible by anyone with the rows and this description:
 *
 *   hash = hex(SHA-256(UTF-8("drawbridge/audit/v1\n" + JCS({seq, id, at, actor, action, subject, data, prev_hash}))))
 *
 * where JCS is RFC 8785 canonical JSON, `seq` a JSON number, `at` the stored ISO-8601 UTC string and
 * `prev_hash` the previous entry's hash (64 zeros for the first entry). The domain tag keeps an
 * audit hash from ever being mistaken for another Drawbridge digest of the same bytes, and its version
 * lets the form change later without old entries becoming ambiguous.
 */
export const AUDIT_HASH_DOMAIN = 'drawbridge/audit/v1\n';

export const GENESIS_PREV_HASH = '0'.repeat(64);

const HASH_PATTERN = /^[0-9a-f]{64}$/;

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** Exactly the fields that are hashed, as they are stored. */
export interface AuditHashInput {
  readonly seq: number;
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data: JsonObject;
  readonly prev_hash: string;
}

export function isAuditHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}

/** RFC 8785 canonical JSON of the hashed fields; throws on values JSON cannot carry (NaN, lone surrogates). */
export function auditCanonicalJson(input: AuditHashInput): string {
  assert(Number.isSafeInteger(input.seq) && input.seq >= 1, 'audit seq is a positive safe integer');
  // Only the listed fields are hashed, whatever else the caller's object carries.
  const canonical = canonicalize({
    seq: input.seq,
    id: input.id,
    at: input.at,
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    data: input.data,
    prev_hash: input.prev_hash,
  });
  assert(canonical !== undefined, 'an object always has a canonical form');
  return canonical;
}

/** The stored form of an entry's data: its canonical JSON, so the text in the row is exactly what was hashed. */
export function auditDataJson(data: JsonObject): string {
  const canonical = canonicalize(data);
  assert(canonical !== undefined, 'an object always has a canonical form');
  return canonical;
}

export function auditEntryHash(input: AuditHashInput): string {
  return createHash('sha256')
    .update(AUDIT_HASH_DOMAIN, 'utf8')
    .update(auditCanonicalJson(input), 'utf8')
    .digest('hex');
}
