import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../../core/clock.ts';
import { assert } from '../../core/errors.ts';
import {
  type CustodyHandoffRow,
  findHandoff,
  lockHandoff,
  markAccepted,
  recordHandoff,
  updateHandoff,
} from '../../store/custody-callbacks.ts';
import type { Database } from '../../store/database.ts';
import { inTransaction } from '../../store/transaction.ts';
import { checkWebhookUrl, type WebhookDestinationPolicy } from '../webhooks/destination-policy.ts';
import { isWebhookSecret, webhookHeaders } from '../webhooks/signing.ts';
import {
  type ChainStatus,
  CustodyRefused,
  type CustodySigner,
  type Handover,
  type ReleaseInstruction,
} from './custody-signer.ts';

export const CUSTODY_INSTRUCTION_TYPE = 'custody.release_instruction';
export const CUSTODY_TIMEOUT_MS = 10_000;
/** The most of an integrator's answer we read: a txid or a problem body, never a document. */
export const CUSTODY_MAX_ANSWER_BYTES = 16 * 1024;
/**
 * How long an instruction accepted without a txid (202) may wait for the integrator's `broadcast` callback before
 * its outcome counts as unknown. Nobody blocks meanwhile: the releaser goes on and asks again on later passes.
 */
export const CUSTODY_ACCEPTED_WAIT_MS = 5 * 60_000;
/** A txid as chains write them (hex, 0x-hex, base58...), bounded. */
export const TXID = /^[A-Za-z0-9:_.-]{1,128}$/;
/** A callback's `webhook-id`: a plain token (a '.' would make one signed string pass for another). */
export const CALLBACK_ID = /^[A-Za-z0-9_-]{1,128}$/;
const DETAIL_CHARS = 200;

/**
 * The `webhook-id` of a withdrawal's instruction: the same for every hand-over of that withdrawal (a retry after a
 * crash, another node), so the integrator recognises the same instruction and deduplicates it.
 */
export function custodyMessageId(withdrawalId: string): string {
  if (/^[A-Za-z0-9-]{1,56}$/.test(withdrawalId)) return `custody_${withdrawalId}`;
  return `custody_${createHash('sha256').update(withdrawalId, 'utf8').digest('base64url').slice(0, 43)}`;
}

/** The instruction's body: the same bytes for every hand-over of one withdrawal. */
export function custodyInstructionBody(instruction: ReleaseInstruction): string {
  return JSON.stringify({
    type: CUSTODY_INSTRUCTION_TYPE,
    withdrawal_id: instruction.withdrawal_id,
    asset: instruction.asset,
    network: instruction.network,
    amount: instruction.amount,
    destination: instruction.destination,
    attestation: instruction.attestation,
  });
}

export interface WebhookCustodySignerOptions {
  readonly database: Database;
  /** Stamps `webhook-timestamp`: the receiver compares it with its own wall clock, so give the system clock. */
  readonly clock: Clock;
  /** The integrator's instruction endpoint; checked against `destinations` like every webhook receiver. */
  readonly url: string;
  readonly destinations: WebhookDestinationPolicy;
  /** Outbound whsec_ secret the integrator verifies instructions with (not the callback secret). */
  readonly secret: string;
  readonly timeoutMs?: number;
  readonly maxAnswerBytes?: number;
  readonly acceptedWaitMs?: number;
}

/**
 * A custody signer run by the integrator, reached over HTTP. `submit` POSTs the release instruction (with its
 * attestation) signed with Standard Webhooks; the integrator's answer decides:
 *
 * - 2xx with `{"txid": "..."}`: broadcast under that txid.
 * - 2xx without a txid (typically 202): accepted, broadcast pending (`{ pending: true }`). The withdrawal stays
 *   released; the integrator's signed `broadcast` (or `confirmed`) callback brings the txid, which the next
 *   `submit` of the same withdrawal returns without sending the instruction again. Past `acceptedWaitMs` without
 *   one, the outcome is unknown (a plain error: the releaser sends the withdrawal to `errored` for an operator,
 *   never voids it).
 * - 4xx other than 408 and 429: refused for certain, nothing was broadcast (`CustodyRefused`, with the problem
 *   body's detail).
 * - 3xx (never followed), 408, 429, 5xx, a timeout, a network error, an oversized or malformed 2xx: outcome
 *   unknown (a plain error).
 *
 * `status` reads what the integrator's signed callbacks stored (see src/services/custody-callbacks.ts).
 */
export class WebhookCustodySigner implements CustodySigner {
  readonly #database: Database;
  readonly #clock: Clock;
  readonly #url: string;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #maxAnswerBytes: number;
  readonly #acceptedWaitMs: number;

  constructor(options: WebhookCustodySignerOptions) {
    assert(isWebhookSecret(options.secret), 'the custody webhook secret is a whsec_ secret');
    this.#url = checkWebhookUrl(options.destinations, options.url);
    this.#database = options.database;
    this.#clock = options.clock;
    this.#secret = options.secret;
    this.#timeoutMs = options.timeoutMs ?? CUSTODY_TIMEOUT_MS;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? CUSTODY_MAX_ANSWER_BYTES;
    this.#acceptedWaitMs = options.acceptedWaitMs ?? CUSTODY_ACCEPTED_WAIT_MS;
  }

  async submit(instruction: ReleaseInstruction): Promise<Handover> {
    const messageId = custodyMessageId(instruction.withdrawal_id);
    const body = custodyInstructionBody(instruction);
    // Accepted before: the integrator has it; what its callbacks said since decides, nothing is sent again.
    const earlier = await findHandoff(this.#database.db, instruction.withdrawal_id);
    if (earlier?.accepted_at != null) return this.#afterAcceptance(earlier);
    await recordHandoff(this.#database, {
      withdrawalId: instruction.withdrawal_id,
      messageId,
      at: this.#clock.now(),
    });
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: {
          ...webhookHeaders([this.#secret], messageId, this.#clock.now(), body),
          'user-agent': 'Drawbridge-Custody/1',
        },
        body,
        // A redirect would take the instruction somewhere nobody allowed.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new Error(`the custody signer did not answer: ${describe(error)}`);
    }
    const { status } = response;
    let answer: { text: string; complete: boolean };
    try {
      answer = await readBounded(response, this.#maxAnswerBytes);
    } catch (error) {
      throw new Error(`HTTP ${status}, answer cut short: ${describe(error)}`);
    }
    if (status >= 200 && status < 300) {
      if (!answer.complete)
        throw new Error(`HTTP ${status} with an answer over ${this.#maxAnswerBytes} bytes`);
      const txid = txidOf(answer.text);
      if (txid === 'malformed') throw new Error(`HTTP ${status} with an answer that is not {"txid": "..."}`);
      if (txid === undefined) {
        await markAccepted(this.#database, instruction.withdrawal_id, this.#clock.now());
        const row = await findHandoff(this.#database.db, instruction.withdrawal_id);
        assert(row !== undefined, 'a hand-over is recorded before the instruction leaves');
        return this.#afterAcceptance(row);
      }
      return this.#recordAnswer(instruction.withdrawal_id, txid);
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new CustodyRefused(`HTTP ${status}: ${problemDetail(answer.text)}`);
    }
    if (status >= 300 && status < 400) {
      throw new Error(`HTTP ${status}: redirect to ${response.headers.get('location') ?? '?'} not followed`);
    }
    throw new Error(`HTTP ${status}: ${problemDetail(answer.text)}`);
  }

  async status(withdrawalId: string): Promise<{ status: ChainStatus; txid?: string }> {
    const row = await findHandoff(this.#database.db, withdrawalId);
    if (row === undefined || row.status === 'submitted') return { status: 'unknown' };
    return row.txid === null ? { status: row.status } : { status: row.status, txid: row.txid };
  }

  /** The integrator's txid, unless a callback already reported another one (then the outcome is unknown). */
  async #recordAnswer(withdrawalId: string, txid: string): Promise<{ txid: string }> {
    await inTransaction(this.#database, async (tx) => {
      const row = await lockHandoff(this.#database, tx, withdrawalId);
      assert(row !== undefined, 'a hand-over is recorded before the instruction leaves');
      if (row.txid !== null && row.txid !== txid) {
        throw new Error(`the custody signer answered txid ${txid}, but its callback reported ${row.txid}`);
      }
      if (row.txid === null) {
        const status = row.status === 'submitted' ? 'broadcast' : row.status;
        await updateHandoff(tx, withdrawalId, { status, txid, at: this.#clock.now() });
      }
    });
    return { txid };
  }

  /** Accepted without a txid: a callback's txid, a reported failure, still waiting, or past the wait: unknown. */
  #afterAcceptance(row: CustodyHandoffRow): Handover {
    if (row.status === 'failed') {
      throw new Error('the custody signer accepted the instruction, then reported it failed');
    }
    if (row.txid !== null) return { txid: row.txid };
    const acceptedAt = Date.parse(row.accepted_at ?? row.submitted_at);
    if (this.#clock.now().getTime() - acceptedAt < this.#acceptedWaitMs) return { pending: true };
    throw new Error(
      `accepted without a txid and no broadcast callback within ${this.#acceptedWaitMs} ms: outcome unknown`,
    );
  }
}

/** The txid of a 2xx answer; undefined when there is none (accepted, broadcast pending). */
function txidOf(text: string): string | undefined | 'malformed' {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'malformed';
  const txid = (parsed as { txid?: unknown }).txid;
  if (txid === undefined || txid === null) return undefined;
  return typeof txid === 'string' && TXID.test(txid) ? txid : 'malformed';
}

/** A problem body's `detail` (or `title`), else the start of the text; printable and bounded. */
function problemDetail(text: string): string {
  let detail = text;
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof parsed.detail === 'string') detail = parsed.detail;
    else if (typeof parsed.title === 'string') detail = parsed.title;
  } catch {
    // not JSON: the text itself
  }
  const printable = detail.replace(/\p{Cc}+/gu, ' ').trim();
  return printable === '' ? 'no detail' : printable.slice(0, DETAIL_CHARS);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return (cause?.code ?? cause?.message ?? error.message).slice(0, DETAIL_CHARS);
  }
  return 'unknown error';
}

/** At most `limit` bytes of the answer; `complete` says whether that was all of it. */
async function readBounded(response: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  const reader = response.body?.getReader();
  if (reader === undefined) return { text: '', complete: true };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = false;
  try {
    while (size <= limit) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return {
    text: Buffer.concat(chunks).subarray(0, limit).toString('utf8'),
    complete: complete && size <= limit,
  };
}

export type CallbackVerification =
  | { readonly ok: true; readonly webhookId: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a status callback with the Standard Webhooks reference library: the HMAC under the inbound callback
 * secret over `{webhook-id}.{webhook-timestamp}.{body}`, and the timestamp within the library's tolerance (5
 * minutes either way) of this machine's clock. Anything malformed is a refusal, never an exception.
 */
export function verifyCustodyCallback(
  secret: string,
  rawBody: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): CallbackVerification {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
    return {
      ok: false,
      reason: 'webhook-id, webhook-timestamp and webhook-signature are required, once each',
    };
  }
  if (!CALLBACK_ID.test(id)) return { ok: false, reason: 'webhook-id is not a plain token' };
  // The library reads the number with parseInt, which would let "1700000000abc" pass for its prefix.
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not unix seconds' };
  if (signature.length > 1024) return { ok: false, reason: 'webhook-signature is too long' };
  try {
    new Webhook(secret).verify(
      rawBody,
      { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
      { jsonParse: false },
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/timestamp too (old|new)/i.test(message)) {
      return { ok: false, reason: 'webhook-timestamp is outside the 5-minute tolerance' };
    }
    return { ok: false, reason: 'the signature does not verify' };
  }
  return { ok: true, webhookId: id };
}
