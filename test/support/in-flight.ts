import { randomBytes } from 'node:crypto';
import { newId } from '../../src/core/ids.ts';
import type { Database } from '../../src/store/database.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { BTC_ADDRESS } from './withdrawals.ts';

/**
 * `count` withdrawals of `accountId` awaiting their second factor, written in bulk below the services (a request
 * holds nothing until it is confirmed, so no ledger rows are needed): in-flight work for a containment to cancel.
 * The account gets an address book entry to point at unless it has one or `destinationId` names one.
 */
export async function insertAwaitingWithdrawals(
  database: Database,
  input: { accountId: string; count: number; at: Date; destinationId?: string },
): Promise<string[]> {
  const at = input.at.toISOString();
  const ids: string[] = [];
  await inTransaction(database, async (tx) => {
    let destinationId =
      input.destinationId ??
      (
        await tx
          .selectFrom('address_book_entries')
          .select('id')
          .where('account_id', '=', input.accountId)
          .where('address', '=', BTC_ADDRESS)
          .executeTakeFirst()
      )?.id;
    if (destinationId === undefined) {
      destinationId = newId();
      await tx
        .insertInto('address_book_entries')
        .values({
          id: destinationId,
          account_id: input.accountId,
          network: 'bitcoin',
          address: BTC_ADDRESS,
          address_type: 'p2wpkh',
          label: 'Cold wallet',
          cooling_ms: '0',
          created_at: at,
          removed_at: null,
        })
        .execute();
    }
    const rows = Array.from({ length: input.count }, () => {
      const id = newId();
      ids.push(id);
      return {
        id,
        account_id: input.accountId,
        asset: 'BTC',
        network: 'bitcoin',
        amount: '1000',
        fee: '0',
        destination_id: destinationId as string,
        destination_address: BTC_ADDRESS,
        destination_label: 'Cold wallet',
        nonce: randomBytes(8).toString('hex'),
        digest: randomBytes(32).toString('hex'),
        summary: 'in flight',
        state: 'awaiting_confirmation' as const,
        proof_id: null,
        confirm_failures: 0,
        expires_at: new Date(input.at.getTime() + 3_600_000).toISOString(),
        release_after: null,
        time_locked_until: null,
        first_use: 0,
        screening: null,
        attestation: null,
        txid: null,
        reason: null,
        move_id: null,
        released_at: null,
        created_at: at,
        updated_at: at,
      };
    });
    for (let i = 0; i < rows.length; i += 200)
      await tx
        .insertInto('withdrawals')
        .values(rows.slice(i, i + 200))
        .execute();
  });
  return ids;
}
