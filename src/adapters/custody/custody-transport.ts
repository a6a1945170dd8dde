import { createHash } from 'node:crypto';
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

/**
 * A transport's answer to one instruction. `refused` only when nothing was broadcast for certain; whenever that
 * cannot be known (a timeout, a 5xx, a garbled answer) the answer is `unknown`, and the withdrawal waits for an
 * operator with its hold in place. A transport that throws is taken as `unknown` too.
 */
export type TransportAnswer =
  /** Broadcast under this txid. */
  | { readonly kind: 'broadcast'; readonly txid: string }
  /** Taken, the txid still to come: a callback or a poll brings it (or, past the wait, the outcome is unknown). */
  | { readonly kind: 'accepted' }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

export type ChainStatus = 'unknown' | 'broadcast' | 'confirmed' | 'failed';

/** What became of a withdrawal's transaction, as the chain or the signer tells it; a txid with broadcast and confirmed. */
export interface ChainReport {
  readonly status: ChainStatus;
  readonly txid?: string | undefined;
}

/** A status callback's check: its message id (replays are recognised by it), or why it is refused. */
export type CallbackVerification =
  | { readonly ok: true; readonly webhookId: string }
  | { readonly ok: false; readonly reason: string };

export type CallbackHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * A custody signer as Drawbridge sees it: a way to send an instruction and read the answer, nothing more. The
 * hand-over records, the idempotency per withdrawal, the wait for an accepted instruction's txid and what the
 * callbacks said are kept by the custody service (src/services/custody/handover.ts), the same for every transport.
 * A transport is a leaf: it touches the outside world (HTTP, an HSM, a chain) and nothing of Drawbridge's own
 * storage; what state it needs (the simulated chain's) is given to it.
 *
 * `send` may be called more than once for one withdrawal (a retry after a crash, another node); `key` is then the
 * same, and the signer must answer the same txid for it, never pay twice. Sign nothing for which
 * `verifyReleaseAttestation` (src/core/withdrawals/attestation.ts) is not true.
 */
export interface CustodyTransport {
  send(instruction: ReleaseInstruction, key: string): Promise<TransportAnswer>;
  /** A transport that can be asked: what became of a withdrawal's transaction. Without it, only callbacks tell. */
  poll?(withdrawalId: string): Promise<ChainReport>;
  /** A transport whose signer reports by signed callbacks: checks one over the exact bytes received. */
  verifyCallback?(rawBody: string, headers: CallbackHeaders): CallbackVerification;
}

/** A txid as chains write them (hex, 0x-hex, base58...), bounded. A transport's txid is checked against it. */
export const TXID = /^[A-Za-z0-9:_.-]{1,128}$/;

/**
 * The key of a withdrawal's instruction: the same for every hand-over of that withdrawal (a retry after a crash,
 * another node), so the signer recognises the same instruction and deduplicates it. A plain token (the webhook
 * signer sends it as `webhook-id`).
 */
export function custodyMessageId(withdrawalId: string): string {
  if (/^[A-Za-z0-9-]{1,56}$/.test(withdrawalId)) return `custody_${withdrawalId}`;
  return `custody_${createHash('sha256').update(withdrawalId, 'utf8').digest('base64url').slice(0, 43)}`;
}
