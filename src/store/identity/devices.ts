import { newId } from '../../core/ids.ts';
import type { DevicesTable } from '../schema-identity.ts';
import type { Tx } from '../transaction.ts';
import { type Queryable, queryable } from '../transaction.ts';

export type DeviceRow = Readonly<DevicesTable>;

export interface DeviceSighting {
  readonly principalId: string;
  readonly deviceKey: string;
  readonly userAgent: string;
  readonly platform: string;
  readonly integrity: DevicesTable['integrity'];
  readonly integritySource: string;
  readonly at: string;
}

/** Records a login from a device; `isNew` tells the caller to notify the customer. */
export async function recordDevice(
  tx: Tx,
  sighting: DeviceSighting,
): Promise<{ device: DeviceRow; isNew: boolean }> {
  const existing = await tx
    .selectFrom('devices')
    .selectAll()
    .where('principal_id', '=', sighting.principalId)
    .where('device_key', '=', sighting.deviceKey)
    .executeTakeFirst();
  if (existing !== undefined) {
    const changes = {
      last_seen_at: sighting.at,
      user_agent: sighting.userAgent,
      platform: sighting.platform,
      // Once a device has reported itself jailbroken it stays marked: a later "ok" does not wash it.
      integrity: existing.integrity === 'jailbroken' ? ('jailbroken' as const) : sighting.integrity,
      integrity_source: sighting.integritySource,
    };
    await tx.updateTable('devices').set(changes).where('id', '=', existing.id).execute();
    return { device: { ...existing, ...changes }, isNew: false };
  }
  const row: DevicesTable = {
    id: newId(),
    principal_id: sighting.principalId,
    device_key: sighting.deviceKey,
    user_agent: sighting.userAgent,
    platform: sighting.platform,
    integrity: sighting.integrity,
    integrity_source: sighting.integritySource,
    first_seen_at: sighting.at,
    last_seen_at: sighting.at,
  };
  await tx.insertInto('devices').values(row).execute();
  return { device: row, isNew: true };
}

export async function listDevices(on: Queryable, principalId: string, limit: number): Promise<DeviceRow[]> {
  const tx = queryable(on);
  return tx
    .selectFrom('devices')
    .selectAll()
    .where('principal_id', '=', principalId)
    .orderBy('last_seen_at', 'desc')
    .limit(limit)
    .execute();
}
