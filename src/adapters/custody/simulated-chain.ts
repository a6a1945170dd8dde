import { createHash, type KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { verifyReleaseAttestation } from '../../core/withdrawals/attestation.ts';
import type { Database } from '../../store/database.ts';
import { inTransaction } from '../../store/transaction.ts';
import {
  type ChainStatus,
  CustodyRefused,
  type CustodySigner,
  type ReleaseInstruction,
} from './custody-signer.ts';

/**
 * The embedded default's custody signer and chain: it verifies every release attestation with Drawbridge's
 * public key (as an integrator's signer must), refuses anything unattested or altered, assigns a txid and
 * confirms after N simulated blocks. Its chain lives in its own table, keyed by withdrawal id, so a resubmission
 * after a crash never pays twice.
 */
export class SimulatedChain implements CustodySigner {
  readonly #database: Database;
  readonly #clock: Clock;
  readonly #publicKey: KeyObject;
  readonly #confirmAfterMs: number;

  constructor(options: {
    database: Database;
    clock: Clock;
    publicKey: KeyObject;
    confirmations: number;
    blockMs: number;
  }) {
    this.#database = options.database;
    this.#clock = options.clock;
    this.#publicKey = options.publicKey;
    this.#confirmAfterMs = options.confirmations * options.blockMs;
  }

  async submit(instruction: ReleaseInstruction): Promise<{ txid: string }> {
    if (!verifyReleaseAttestation(this.#publicKey, instruction.attestation, instruction)) {
      throw new CustodyRefused('the release attestation does not verify for this instruction');
    }
    return inTransaction(this.#database, async (tx) => {
      const now = this.#clock.now();
      const txid = createHash('sha256').update(`simulated:${instruction.withdrawal_id}`).digest('hex');
      // Keyed by withdrawal id: a second submission (a retry, or another node) finds the first one's txid.
      await tx
        .insertInto('simulated_chain_txs')
        .values({
          txid,
          withdrawal_id: instruction.withdrawal_id,
          network: instruction.network,
          destination: instruction.destination,
          amount: instruction.amount,
          broadcast_at: now.toISOString(),
          confirms_at: new Date(now.getTime() + this.#confirmAfterMs).toISOString(),
        })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
      const row = await tx
        .selectFrom('simulated_chain_txs')
        .select('txid')
        .where('withdrawal_id', '=', instruction.withdrawal_id)
        .executeTakeFirstOrThrow();
      return { txid: row.txid };
    });
  }

  async status(withdrawalId: string): Promise<{ status: ChainStatus; txid?: string }> {
    const row = await this.#database.db
      .selectFrom('simulated_chain_txs')
      .select(['txid', 'confirms_at'])
      .where('withdrawal_id', '=', withdrawalId)
      .executeTakeFirst();
    if (row === undefined) return { status: 'unknown' };
    const confirmed = row.confirms_at <= this.#clock.now().toISOString();
    return { status: confirmed ? 'confirmed' : 'broadcast', txid: row.txid };
  }
}
