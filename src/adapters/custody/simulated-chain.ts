import { createHash, type KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { verifyReleaseAttestation } from '../../core/withdrawals/attestation.ts';
import type {
  ChainReport,
  CustodyTransport,
  ReleaseInstruction,
  TransportAnswer,
} from './custody-transport.ts';

/** One transaction on the simulated chain. */
export interface SimulatedTransaction {
  readonly txid: string;
  readonly withdrawal_id: string;
  readonly network: string;
  readonly destination: string;
  readonly amount: string;
  readonly broadcast_at: string;
  readonly confirms_at: string;
}

/**
 * The simulated chain's state. It is shared by every node (a scale-out deployment simulates one chain), so it
 * lives in the database, behind src/store/simulated-chain.ts; the chain is given it and never opens a database.
 */
export interface SimulatedChainState {
  /** Puts `transaction` on the chain unless its withdrawal already has one; answers the txid on the chain. */
  broadcast(transaction: SimulatedTransaction): Promise<string>;
  find(withdrawalId: string): Promise<SimulatedTransaction | undefined>;
}

/**
 * The embedded default's custody signer and chain: it verifies every release attestation with Drawbridge's public
 * key (as an integrator's signer must), refuses anything unattested or altered, assigns a txid and confirms after
 * N simulated blocks. One transaction per withdrawal id, so a second instruction never pays twice.
 */
export class SimulatedChain implements CustodyTransport {
  readonly #state: SimulatedChainState;
  readonly #clock: Clock;
  readonly #publicKey: KeyObject;
  readonly #confirmAfterMs: number;

  constructor(options: {
    state: SimulatedChainState;
    clock: Clock;
    publicKey: KeyObject;
    confirmations: number;
    blockMs: number;
  }) {
    this.#state = options.state;
    this.#clock = options.clock;
    this.#publicKey = options.publicKey;
    this.#confirmAfterMs = options.confirmations * options.blockMs;
  }

  async send(instruction: ReleaseInstruction): Promise<TransportAnswer> {
    if (!verifyReleaseAttestation(this.#publicKey, instruction.attestation, instruction)) {
      return { kind: 'refused', reason: 'the release attestation does not verify for this instruction' };
    }
    const now = this.#clock.now();
    const txid = await this.#state.broadcast({
      txid: createHash('sha256').update(`simulated:${instruction.withdrawal_id}`).digest('hex'),
      withdrawal_id: instruction.withdrawal_id,
      network: instruction.network,
      destination: instruction.destination,
      amount: instruction.amount,
      broadcast_at: now.toISOString(),
      confirms_at: new Date(now.getTime() + this.#confirmAfterMs).toISOString(),
    });
    return { kind: 'broadcast', txid };
  }

  async poll(withdrawalId: string): Promise<ChainReport> {
    const transaction = await this.#state.find(withdrawalId);
    if (transaction === undefined) return { status: 'unknown' };
    const confirmed = transaction.confirms_at <= this.#clock.now().toISOString();
    return { status: confirmed ? 'confirmed' : 'broadcast', txid: transaction.txid };
  }
}
