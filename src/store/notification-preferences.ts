import type { Tx } from './transaction.ts';
import { type Queryable, queryable } from './transaction.ts';

/** A customer's switches for non-security notifications; absent means on. */
export async function preferencesOf(on: Queryable, accountId: string, limit: number) {
  const tx = queryable(on);
  return tx
    .selectFrom('notification_preferences')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('event')
    .limit(limit)
    .execute();
}

export async function isNotificationMuted(tx: Tx, accountId: string, event: string): Promise<boolean> {
  const row = await tx
    .selectFrom('notification_preferences')
    .select('enabled')
    .where('account_id', '=', accountId)
    .where('event', '=', event)
    .executeTakeFirst();
  return row !== undefined && Number(row.enabled) === 0;
}

export async function setPreference(
  tx: Tx,
  input: { accountId: string; event: string; enabled: boolean; now: string },
): Promise<void> {
  await tx
    .insertInto('notification_preferences')
    .values({
      account_id: input.accountId,
      event: input.event,
      enabled: input.enabled ? 1 : 0,
      updated_at: input.now,
    })
    .onConflict((oc) =>
      oc
        .columns(['account_id', 'event'])
        .doUpdateSet({ enabled: input.enabled ? 1 : 0, updated_at: input.now }),
    )
    .execute();
}
