import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';

export const VERDICT_TAG = 'drawbridge/monitor-verdict/v1';

/**
 * What the independent monitor signs for one withdrawal, once it has re-verified the proof on its own: the
 * withdrawal, the digest it re-derived from the row's terms, the proof it checked and the payment those terms
 * say. A custody signer compares the payment with the instruction, so a release key alone cannot point an
 * approved verdict at another address or amount.
 */
export interface VerdictStatement {
  readonly v: 1;
  readonly withdrawal_id: string;
  readonly account_id: string;
  readonly digest: string;
  readonly proof_hash: string;
  readonly asset: string;
  readonly network: string;
  readonly amount: string;
  readonly destination: string;
  readonly verdict: 'approve' | 'reject';
  readonly verified_at: string;
}

export interface SignedVerdict {
  readonly statement: VerdictStatement;
  /** Ed25519 over the tag, a newline and the canonical JSON of the statement; base64url. */
  readonly signature: string;
  /** SPKI DER of the monitor's key, base64url: says which key, never trusted by itself. */
  readonly key_id: string;
}

/** A monitor verdict as its row has it (src/store/monitor.ts). */
export interface MonitorVerdictRow {
  readonly statement: string;
  readonly signature: string;
  readonly key_id: string;
}

/** The row as the verdict it claims to be; undefined when the statement is not JSON. */
export function signedVerdictOf(row: MonitorVerdictRow): SignedVerdict | undefined {
  try {
    return { statement: JSON.parse(row.statement), signature: row.signature, key_id: row.key_id };
  } catch {
    return undefined;
  }
}

const STRING_FIELDS = [
  'withdrawal_id',
  'account_id',
  'digest',
  'proof_hash',
  'asset',
  'network',
  'amount',
  'destination',
  'verdict',
  'verified_at',
] as const;

function canonicalText(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new Error('assertion failed: the value canonicalizes');
  return canonical;
}

function message(statement: VerdictStatement): Buffer {
  return Buffer.from(`${VERDICT_TAG}\n${canonicalText(statement)}`, 'utf8');
}

export function signVerdict(privateKey: KeyObject, statement: VerdictStatement): SignedVerdict {
  return {
    statement,
    signature: sign(null, message(statement), privateKey).toString('base64url'),
    key_id: keyIdOf(privateKey),
  };
}

/** SPKI DER of the key's public half, base64url; exported once per key (KeyObjects are immutable). */
const keyIds = new WeakMap<KeyObject, string>();
function keyIdOf(privateKey: KeyObject): string {
  let keyId = keyIds.get(privateKey);
  if (keyId === undefined) {
    keyId = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64url');
    keyIds.set(privateKey, keyId);
  }
  return keyId;
}

/** The hash the release statement pins the verdict by: SHA-256 (hex) over the verdict's canonical JSON. */
export function verdictHash(verdict: SignedVerdict): string {
  return createHash('sha256')
    .update(canonicalText({ statement: verdict.statement, signature: verdict.signature }), 'utf8')
    .digest('hex');
}

/** verdictRefusal's answer for a genuine verdict that rejects. */
export const MONITOR_REFUSED = 'the monitor refused it';

/**
 * Why `verdict` is not an approving verdict by `publicKey` for exactly `expected`, or undefined when it is. Anything
 * malformed is a reason, never an exception: a forged row, a reject, another withdrawal's verdict, another payment.
 */
export function verdictRefusal(
  publicKey: KeyObject | string,
  verdict: unknown,
  expected: Partial<Omit<VerdictStatement, 'v' | 'verdict' | 'verified_at'>>,
): string | undefined {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    if (key.asymmetricKeyType !== 'ed25519') return "the monitor's key is not Ed25519";
    if (typeof verdict !== 'object' || verdict === null) return 'no monitor verdict';
    const { statement, signature } = verdict as { statement?: unknown; signature?: unknown };
    if (typeof signature !== 'string' || typeof statement !== 'object' || statement === null)
      return 'the monitor verdict is malformed';
    const fields = statement as Record<string, unknown>;
    if (fields.v !== 1) return 'the monitor verdict is of an unknown version';
    if (!STRING_FIELDS.every((f) => typeof fields[f] === 'string')) return 'the monitor verdict is malformed';
    if (Object.keys(fields).length !== STRING_FIELDS.length + 1) return 'the monitor verdict is malformed';
    const typed = statement as VerdictStatement;
    if (!verify(null, message(typed), key, Buffer.from(signature, 'base64url')))
      return "the monitor verdict's signature does not verify under the monitor's key";
    for (const [field, value] of Object.entries(expected)) {
      if (value !== undefined && typed[field as keyof VerdictStatement] !== value)
        return `the monitor verdict names another ${field.replaceAll('_', ' ')}`;
    }
    if (typed.verdict !== 'approve') return MONITOR_REFUSED;
    return undefined;
  } catch {
    return 'the monitor verdict could not be checked';
  }
}
