/*
 * A new custody adapter, written as an integrator would: one file implementing CustodyTransport, nothing else.
 * An in-memory "HSM" that signs nothing without a valid release attestation under the key it was provisioned
 * with. It signs asynchronously: an instruction is accepted, signed and broadcast on the HSM's next cycle, and
 * confirmed when the chain says so; Drawbridge learns both by asking (`poll`). Deduplication, the wait for the
 * txid, the records and settlement are Drawbridge's (src/services/custody/handover.ts), not this file's.
 */
import { createHash } from 'node:crypto';
import { type AttestationKeys, verifyReleaseAttestation } from 'drawbridge/attestation';
import type {
  ChainReport,
  CustodyTransport,
  ReleaseInstruction,
  TransportAnswer,
} from '../../../src/adapters/custody/custody-transport.ts';

interface Slot {
  readonly withdrawalId: string;
  readonly instruction: ReleaseInstruction;
  txid: string | undefined;
  confirmed: boolean;
}

export class InMemoryHsm implements CustodyTransport {
  /** Every instruction that reached the HSM, signed or not (for the test to look at). */
  readonly received: { key: string; instruction: ReleaseInstruction; verdict: 'accepted' | 'refused' }[] = [];
  readonly #slots = new Map<string, Slot>();
  readonly #keys: AttestationKeys;

  /** `keys`: Drawbridge's release key and monitor key, pinned when the HSM was provisioned (never fetched per request). */
  constructor(keys: AttestationKeys) {
    this.#keys = keys;
  }

  async send(instruction: ReleaseInstruction, key: string): Promise<TransportAnswer> {
    if (!verifyReleaseAttestation(this.#keys, instruction.attestation, instruction)) {
      this.received.push({ key, instruction, verdict: 'refused' });
      return { kind: 'refused', reason: 'HSM: no valid release attestation for this instruction' };
    }
    this.received.push({ key, instruction, verdict: 'accepted' });
    // The same key again is the same instruction: answer what became of it, never sign twice.
    const slot = this.#slots.get(key);
    if (slot?.txid !== undefined) return { kind: 'broadcast', txid: slot.txid };
    if (slot === undefined) {
      this.#slots.set(key, {
        withdrawalId: instruction.withdrawal_id,
        instruction,
        txid: undefined,
        confirmed: false,
      });
    }
    return { kind: 'accepted' };
  }

  async poll(withdrawalId: string): Promise<ChainReport> {
    const slot = [...this.#slots.values()].find((s) => s.withdrawalId === withdrawalId);
    if (slot?.txid === undefined) return { status: 'unknown' };
    return { status: slot.confirmed ? 'confirmed' : 'broadcast', txid: slot.txid };
  }

  /** The HSM's signing cycle: every accepted instruction is signed and broadcast. */
  signPending(): void {
    for (const [key, slot] of this.#slots) {
      slot.txid ??= createHash('sha256').update(`hsm:${key}`).digest('hex');
    }
  }

  /** The chain confirms everything broadcast. */
  confirmBroadcast(): void {
    for (const slot of this.#slots.values()) if (slot.txid !== undefined) slot.confirmed = true;
  }

  /** How many distinct instructions the HSM signed. */
  get signedCount(): number {
    return [...this.#slots.values()].filter((slot) => slot.txid !== undefined).length;
  }
}
