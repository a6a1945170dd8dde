import type { ReleaseAttestation } from '../../core/withdrawals/attestation.ts';

/** What leaves Drawbridge for the custody signer: the payment and the attestation that authorises it. */
export interface ReleaseInstruction {
  readonly withdrawal_id: string;
  readonly asset: string;
  readonly network: string;
  /** Base units, decimal digits. */
  readonly amount: string;
  readonly destination: string;
  readonly attestation: ReleaseAttestation;
}

export type ChainStatus = 'unknown' | 'broadcast' | 'confirmed' | 'failed';

/** Refused for certain: nothing was broadcast (a forged or altered attestation, a bad instruction). */
export class CustodyRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustodyRefused';
  }
}

/**
 * What a hand-over came to: broadcast under a txid, or accepted with the txid still to come (the withdrawal stays
 * released and the releaser asks again on a later pass, when `submit` answers from what it learnt meanwhile).
 */
export type Handover = { readonly txid: string } | { readonly pending: true; readonly txid?: undefined };

/**
 * The custody signer behind an interface. `submit` must be idempotent per withdrawal id: a retry after a crash
 * returns the same txid instead of paying twice. It throws `CustodyRefused` when nothing was broadcast for
 * certain, and any other error when the outcome is unknown.
 */
export interface CustodySigner {
  submit(instruction: ReleaseInstruction): Promise<Handover>;
  status(withdrawalId: string): Promise<{ status: ChainStatus; txid?: string }>;
}
