import { auditDataJson, type JsonObject } from '../../core/audit-hash.ts';
import { invalidInput } from '../../core/errors.ts';

/** What a caller records: who did what to which thing, when, with details. */
export interface AuditEntryInput {
  readonly at: Date;
  /** Who acted: "account:<id>", "operator:<id>", "system:monitor", ... */
  readonly actor: string;
  /** What happened, e.g. "withdrawal.confirmed", "address.added", "incident.halt". */
  readonly action: string;
  /** What it happened to: "withdrawal:<id>", "account:<id>", ... */
  readonly subject: string;
  readonly data: JsonObject;
}

/** An entry as recorded in the journal, before the sealer gives it a place in the chain. */
export interface AuditJournalEntry {
  readonly id: string;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly data: JsonObject;
}

/** An entry as stored in the chain: the journal entry with its place and link. */
export interface AuditEntry extends AuditJournalEntry {
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
}

export const AUDIT_LIMITS = Object.freeze({
  actor_chars: 200,
  action_chars: 100,
  subject_chars: 200,
  data_bytes: 16 * 1024,
  data_depth: 16,
  data_nodes: 2000,
});

// Control characters in the short text fields would only help forge log lines in tools that print them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
// In a `u` regex a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Checks an entry before anything is written and returns the data as canonical JSON text, the form
 * that is stored. Bad input gets the field and the reason.
 */
export function checkAuditEntry(entry: AuditEntryInput): string {
  if (!(entry.at instanceof Date) || Number.isNaN(entry.at.getTime())) {
    throw invalidInput('at', 'must be a valid date');
  }
  checkText('actor', entry.actor, AUDIT_LIMITS.actor_chars);
  checkText('action', entry.action, AUDIT_LIMITS.action_chars);
  checkText('subject', entry.subject, AUDIT_LIMITS.subject_chars);
  if (!isPlainObject(entry.data)) throw invalidInput('data', 'must be a JSON object');
  const budget = { nodes: AUDIT_LIMITS.data_nodes };
  checkJson(entry.data, 'data', 0, budget);
  const text = auditDataJson(entry.data);
  if (Buffer.byteLength(text, 'utf8') > AUDIT_LIMITS.data_bytes) {
    throw invalidInput('data', `must be at most ${AUDIT_LIMITS.data_bytes} bytes of JSON`);
  }
  return text;
}

function checkText(field: string, value: unknown, max_chars: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max_chars) {
    throw invalidInput(field, `must be a string of 1 to ${max_chars} characters`);
  }
  if (CONTROL_CHARACTERS.test(value)) throw invalidInput(field, 'must not contain control characters');
  if (LONE_SURROGATE.test(value)) throw invalidInput(field, 'must be well-formed Unicode');
}

/**
 * Only values JSON carries unchanged: anything else (undefined, bigint, Date, NaN, a class instance)
 * would be silently altered by serialisation, and the stored entry would no longer say what the
 * caller meant.
 */
function checkJson(value: unknown, path: string, depth: number, budget: { nodes: number }): void {
  budget.nodes -= 1;
  if (budget.nodes < 0) throw invalidInput('data', `must have at most ${AUDIT_LIMITS.data_nodes} values`);
  if (depth > AUDIT_LIMITS.data_depth) {
    throw invalidInput(path, `must nest at most ${AUDIT_LIMITS.data_depth} levels`);
  }
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw invalidInput(path, 'must be well-formed Unicode');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidInput(path, 'must be a finite number');
    return;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkJson(item, `${path}/${index}`, depth + 1, budget);
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) throw invalidInput(path, 'keys must be well-formed Unicode');
      checkJson(item, `${path}/${key}`, depth + 1, budget);
    }
    return;
  }
  throw invalidInput(path, `must be JSON (string, finite number, boolean, null, array or object)`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A stored BIGINT seq as a number; a chain longer than 2^53 entries is not a thing that happens. */
export function seqFromRow(value: string | number): number {
  const seq = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(seq)) throw new Error(`audit_log seq ${String(value)} is not a safe integer`);
  return seq;
}
