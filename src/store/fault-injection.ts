import { sql } from 'kysely';
import type { Tx } from './transaction.ts';

/**
 * Writes that no service makes: the attacker's own, for the 2022 replay (src/simulation) and the attack tests. Each
 * meets every constraint the database has, which is the point: what stops the money then is the cryptography the
 * monitor checks and the two signatures custody requires. Never called by the services or the workers.
 */

/** A proof row as an attacker writes it: the published hash formula over the evidence they chose. */
export async function insertForgedProof(
  tx: Tx,
  row: {
    id: string;
    withdrawal_id: string;
    account_id: string;
    digest: string;
    method: 'totp' | 'recovery_code' | 'passkey';
    factor_id: string;
    evidence: string;
    proof_hash: string;
    created_at: string;
  },
): Promise<void> {
  await tx.insertInto('withdrawal_proofs').values(row).execute();
}

/** The move to queued with the forged proof and a cancel window already over, with no event and no screening. */
export async function forceQueued(
  tx: Tx,
  withdrawalId: string,
  proofId: string,
  releaseAfter: string,
): Promise<void> {
  await sql`update withdrawals set state = 'queued', proof_id = ${proofId},
    release_after = ${releaseAfter}, first_use = 0
    where id = ${withdrawalId}`.execute(tx);
}

/** An address-book entry dated in the past, so it looks cooled: the attacker's own destination. */
export async function insertBackdatedEntry(
  tx: Tx,
  row: {
    id: string;
    account_id: string;
    network: string;
    address: string;
    address_type: string;
    created_at: string;
  },
): Promise<void> {
  await tx
    .insertInto('address_book_entries')
    .values({ ...row, label: 'Exchange wallet', cooling_ms: 24 * 60 * 60_000, removed_at: null })
    .execute();
}
