import { newId } from '../../core/ids.ts';
import { compiledOnce } from '../compiled-query.ts';
import type { Tx } from '../transaction.ts';
import { type Queryable, queryable } from '../transaction.ts';

/**
 * Security settings are never overwritten: each change is a new row with its effective time, so the claims
 * programme can ask "what was true at the time of the theft?".
 */
export async function recordSetting(
  tx: Tx,
  input: { principalId: string; setting: string; value: string; effectiveAt: string },
): Promise<void> {
  await tx
    .insertInto('security_settings_history')
    .values({
      id: newId(),
      principal_id: input.principalId,
      setting: input.setting,
      value: input.value,
      effective_at: input.effectiveAt,
    })
    .execute();
}

export interface SettingValue {
  readonly value: string;
  readonly effectiveAt: string;
}

/** The value in force at `at` (the latest change at or before it), or undefined if never set. */
export async function settingAt(
  on: Queryable,
  principalId: string,
  setting: string,
  at: string,
): Promise<SettingValue | undefined> {
  const tx = queryable(on);
  return settingFromRow((await selectSetting(tx, principalId, setting, at)).rows[0]);
}

const selectSetting = compiledOnce(3, (tx: Tx, _engine, principalId: string, setting: string, at: string) =>
  tx
    .selectFrom('security_settings_history')
    .select(['value', 'effective_at'])
    .where('principal_id', '=', principalId)
    .where('setting', '=', setting)
    .where('effective_at', '<=', at)
    .orderBy('effective_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1),
);

/** settingAt's statement, for a caller that batches it (store/transaction.ts `together`). */
export function settingQuery(tx: Tx, principalId: string, setting: string, at: string) {
  return selectSetting.statement(tx, principalId, setting, at);
}

export function settingFromRow(
  row: { readonly value: string; readonly effective_at: string } | undefined,
): SettingValue | undefined {
  return row === undefined ? undefined : { value: row.value, effectiveAt: row.effective_at };
}

export async function settingHistory(on: Queryable, principalId: string, setting: string, limit: number) {
  const tx = queryable(on);
  return tx
    .selectFrom('security_settings_history')
    .select(['value', 'effective_at'])
    .where('principal_id', '=', principalId)
    .where('setting', '=', setting)
    .orderBy('effective_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
