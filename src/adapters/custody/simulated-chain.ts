import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { type AttestationKeys, releaseAttestationRefusal } from '../../core/withdrawals/attestation.ts';
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
 * The embedded default's custody signer and chain: it verifies every release attestation with both of Drawbridge's
 * public keys, the release key and the monitor's (as an integrator's signer must), refuses anything unattested,
 * altered or without the monitor's approving verdict, assigns a txid and confirms after
 * N simulated blocks. One transaction per withdrawal id, so a second instruction never pays twice.
 */
export class SimulatedChain implements CustodyTransport {
  readonly #state: SimulatedChainState;
  readonly #clock: Clock;
  readonly #keys: AttestationKeys;
  readonly #confirmAfterMs: number;

  constructor(options: {
    state: SimulatedChainState;
    clock: Clock;
    keys: AttestationKeys;
    confirmations: number;
    blockMs: number;
  }) {
    this.#state = options.state;
    this.#clock = options.clock;
    this.#keys = options.keys;
    this.#confirmAfterMs = options.confirmations * options.blockMs;
  }

  async send(instruction: ReleaseInstruction): Promise<TransportAnswer> {
    const refusal = releaseAttestationRefusal(this.#keys, instruction.attestation, instruction);
    if (refusal !== undefined)
      return { kind: 'refused', reason: `the release attestation is refused: ${refusal}` };
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
