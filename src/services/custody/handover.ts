import {
  type CallbackHeaders,
  type CallbackVerification,
  type ChainReport,
  type CustodyTransport,
  custodyMessageId,
  type ReleaseInstruction,
  type TransportAnswer,
  TXID,
} from '../../adapters/custody/custody-transport.ts';
import type { Clock } from '../../core/clock.ts';
import { assert } from '../../core/errors.ts';
import { judgeReport } from '../../core/withdrawals/custody-report.ts';
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

/**
 * How long an instruction accepted without a txid may wait for the signer's `broadcast` (a callback, or a poll)
 * before its outcome counts as unknown. Nobody blocks meanwhile: the releaser goes on and asks again on later passes.
 */
export const CUSTODY_ACCEPTED_WAIT_MS = 5 * 60_000;

/**
 * What a hand-over came to. `pending`: accepted, the txid still to come; the withdrawal stays released and the
 * releaser asks again on a later pass. `refused`: nothing was broadcast, for certain. `unknown`: there is no
 * telling, and an operator must check the chain.
 */
export type HandoverOutcome =
  | { readonly kind: 'broadcast'; readonly txid: string }
  | { readonly kind: 'pending'; readonly txid?: undefined }
  | { readonly kind: 'refused'; readonly reason: string; readonly txid?: undefined }
  | { readonly kind: 'unknown'; readonly reason: string; readonly txid?: undefined };

/** Custody as the releaser and settlement use it, whatever the transport behind it. */
export interface Custody {
  /** Hands a released withdrawal over; idempotent per withdrawal id (never pays twice). */
  submit(instruction: ReleaseInstruction): Promise<HandoverOutcome>;
  /** What became of a withdrawal handed over: what custody reported (callbacks, or the transport when asked). */
  status(withdrawalId: string): Promise<ChainReport>;
}

export interface CustodyHandoverOptions {
  readonly database: Database;
  /** Dates the records and measures the accepted wait. */
  readonly clock: Clock;
  readonly transport: CustodyTransport;
  readonly acceptedWaitMs?: number;
}

/**
 * The one custody service every transport shares. It keeps `custody_handoffs`: a row per withdrawal, written
 * before the instruction leaves (so a callback that overtakes the answer finds it), holding the txid and what
 * custody reported since, whether by signed callback (src/services/custody/callbacks.ts) or by being asked
 * (`transport.poll`). On that record rest:
 *
 * - Idempotency: every hand-over of a withdrawal sends the same key, so the signer answers the same txid; an
 *   instruction the signer accepted (without a txid) is not sent again, the record answers instead.
 * - The accepted wait: accepted, the txid comes from a callback or a poll; none within `acceptedWaitMs`: unknown.
 * - Status for settlement: what was reported; a transport that can be asked is asked, and its answer recorded,
 *   under the same only-forward rule as callbacks.
 */
export class CustodyHandover implements Custody {
  readonly #database: Database;
  readonly #clock: Clock;
  readonly #transport: CustodyTransport;
  readonly #acceptedWaitMs: number;

  constructor(options: CustodyHandoverOptions) {
    this.#database = options.database;
    this.#clock = options.clock;
    this.#transport = options.transport;
    this.#acceptedWaitMs = options.acceptedWaitMs ?? CUSTODY_ACCEPTED_WAIT_MS;
  }

  async submit(instruction: ReleaseInstruction): Promise<HandoverOutcome> {
    const withdrawalId = instruction.withdrawal_id;
    const key = custodyMessageId(withdrawalId);
    // Accepted before: the signer has it; what custody reported since decides, nothing is sent again.
    const earlier = await findHandoff(this.#database, withdrawalId);
    if (earlier?.accepted_at != null) return this.#afterAcceptance(await this.#asked(earlier));
    await recordHandoff(this.#database, { withdrawalId, messageId: key, at: this.#clock.now() });
    let answer: TransportAnswer;
    try {
      answer = await this.#transport.send(instruction, key);
    } catch (error) {
      return unknown(
        `the custody transport failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    switch (answer.kind) {
      case 'refused':
        return { kind: 'refused', reason: answer.reason };
      case 'unknown':
        return unknown(answer.reason);
      case 'accepted': {
        await markAccepted(this.#database, withdrawalId, this.#clock.now());
        const row = await findHandoff(this.#database, withdrawalId);
        assert(row !== undefined, 'a hand-over is recorded before the instruction leaves');
        return this.#afterAcceptance(row);
      }
      case 'broadcast':
        if (typeof answer.txid !== 'string' || !TXID.test(answer.txid)) {
          return unknown('the custody transport answered broadcast without a well-formed txid');
        }
        return this.#recordAnswer(withdrawalId, answer.txid);
    }
  }

  async status(withdrawalId: string): Promise<ChainReport> {
    const row = await findHandoff(this.#database, withdrawalId);
    if (this.#transport.poll === undefined || (row !== undefined && isFinal(row))) return reportOf(row);
    const polled = await this.#transport.poll(withdrawalId);
    // Handed over before hand-overs were recorded (an older version): the chain's word is all there is.
    if (row === undefined) return polled;
    return this.#recordPolled(row, polled);
  }

  /** The signer's check of a status callback; a transport without callbacks refuses every one. */
  verifyCallback(rawBody: string, headers: CallbackHeaders): CallbackVerification {
    if (this.#transport.verifyCallback === undefined) {
      return { ok: false, reason: 'this custody signer sends no callbacks' };
    }
    return this.#transport.verifyCallback(rawBody, headers);
  }

  /** The signer's txid, unless custody already reported another one (then the outcome is unknown). */
  async #recordAnswer(withdrawalId: string, txid: string): Promise<HandoverOutcome> {
    return inTransaction(this.#database, async (tx) => {
      const row = await lockHandoff(this.#database, tx, withdrawalId);
      assert(row !== undefined, 'a hand-over is recorded before the instruction leaves');
      if (row.txid !== null && row.txid !== txid) {
        return unknown(`the custody signer answered txid ${txid}, but custody reported ${row.txid} before`);
      }
      if (row.txid === null) {
        const status = row.status === 'submitted' ? 'broadcast' : row.status;
        await updateHandoff(tx, withdrawalId, { status, txid, at: this.#clock.now() });
      }
      return { kind: 'broadcast' as const, txid };
    });
  }

  /** Accepted without a txid: the txid reported since, a reported failure, still waiting, or past the wait: unknown. */
  #afterAcceptance(row: CustodyHandoffRow): HandoverOutcome {
    if (row.status === 'failed') {
      return unknown('the custody signer accepted the instruction, then reported it failed');
    }
    if (row.txid !== null) return { kind: 'broadcast', txid: row.txid };
    const acceptedAt = Date.parse(row.accepted_at ?? row.submitted_at);
    if (this.#clock.now().getTime() - acceptedAt < this.#acceptedWaitMs) return { kind: 'pending' };
    return unknown(
      `accepted without a txid and no broadcast callback within ${this.#acceptedWaitMs} ms: outcome unknown`,
    );
  }

  /** An accepted hand-over, brought up to date by asking the transport when it can be asked. */
  async #asked(row: CustodyHandoffRow): Promise<CustodyHandoffRow> {
    if (this.#transport.poll === undefined || row.txid !== null || isFinal(row)) return row;
    await this.#recordPolled(row, await this.#transport.poll(row.withdrawal_id));
    return (await findHandoff(this.#database, row.withdrawal_id)) ?? row;
  }

  /**
   * What the transport said, recorded when it moves the hand-over forward. A report the record refuses (a status
   * moving backwards, another txid) changes nothing; with another txid it is answered as said, so settlement sends
   * the withdrawal to an operator rather than settling on what it knew.
   */
  async #recordPolled(row: CustodyHandoffRow, polled: ChainReport): Promise<ChainReport> {
    if (polled.status === 'unknown') return reportOf(row);
    if (polled.status === row.status && (polled.txid ?? null) === row.txid) return reportOf(row);
    const report = { status: polled.status, txid: polled.txid };
    return inTransaction(this.#database, async (tx) => {
      const locked = await lockHandoff(this.#database, tx, row.withdrawal_id);
      assert(locked !== undefined, 'a hand-over, once recorded, stays');
      const judgement = judgeReport(locked, report);
      if (judgement.kind === 'apply') {
        await updateHandoff(tx, locked.withdrawal_id, {
          status: judgement.status,
          txid: judgement.txid,
          at: this.#clock.now(),
        });
        return judgement.txid === null
          ? { status: judgement.status }
          : { status: judgement.status, txid: judgement.txid };
      }
      if (judgement.kind === 'refuse' && polled.txid !== undefined && polled.txid !== locked.txid)
        return polled;
      return reportOf(locked);
    });
  }
}

function unknown(reason: string): HandoverOutcome {
  return { kind: 'unknown', reason };
}

function isFinal(row: CustodyHandoffRow): boolean {
  return row.status === 'confirmed' || row.status === 'failed';
}

/** A record as a report: nothing known until custody said broadcast, confirmed or failed. */
function reportOf(row: CustodyHandoffRow | undefined): ChainReport {
  if (row === undefined || row.status === 'submitted') return { status: 'unknown' };
  return row.txid === null ? { status: row.status } : { status: row.status, txid: row.txid };
}
