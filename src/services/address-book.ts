import {
  COOLING_SETTING,
  coolingChangeEffectiveAt,
  coolingPeriodEndsAt,
  DEFAULT_COOLING_MS,
  isCooled,
  parseCoolingHours,
} from '../core/address-book/cooling.ts';
import { normalizeAddress } from '../core/addresses/index.ts';
import { assert, DomainError, invalidInput } from '../core/errors.ts';
import { isNetwork, NETWORKS, type Network } from '../core/networks.ts';
import {
  type AddressBookEntry,
  countLiveEntries,
  findEntry,
  findLiveEntry,
  insertEntry,
  listLiveEntries,
  markRemoved,
  pendingCoolingChangeTimes,
} from '../store/address-book.ts';
import { lockPrincipal, type Principal } from '../store/identity/principals.ts';
import { recordSetting, type SettingValue, settingAt } from '../store/identity/settings-history.ts';
import { inTransaction, type Queryable, type Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { RequestMeta, ServiceContext } from './context.ts';
import type { Authenticated } from './identity/sessions.ts';
import { consumeStepUp } from './identity/step-up.ts';
import { notifyPrincipal } from './notify.ts';

const MAX_ENTRIES = 200;
const MAX_LABEL_LENGTH = 64;
/**
 * Shortenings waiting to take effect. Only a shortening makes a new one, so refusing more shortenings (the safe
 * direction) bounds them, and a customer can always lengthen the period again, whatever a thief queued.
 */
const MAX_PENDING_COOLING_CHANGES = 8;

/**
 * Holds the account's row until the transaction ends, so the checks here (duplicates, the entry cap, pending
 * cooling changes) and the writes that follow run one at a time per account on PostgreSQL too.
 */
async function lockAccount(tx: Tx, auth: Authenticated): Promise<Principal> {
  const principal = await lockPrincipal(tx, auth.principalId);
  assert(principal !== undefined, `the authenticated account ${auth.principalId} exists`);
  return principal;
}

/** The cooling period in force for an account at `at` (default 24 h). */
export async function accountCoolingMs(tx: Queryable, accountId: string, at: Date): Promise<number> {
  return coolingMsOf(await settingAt(tx, accountId, COOLING_SETTING, at.toISOString()));
}

export function coolingMsOf(setting: SettingValue | undefined): number {
  return setting === undefined ? DEFAULT_COOLING_MS : Number(setting.value);
}

export function describeEntry(entry: AddressBookEntry, accountCooling: number, now: Date) {
  const usableFrom = coolingPeriodEndsAt(entry.createdAt, entry.coolingMs, accountCooling);
  return {
    id: entry.id,
    network: entry.network,
    address: entry.address,
    address_type: entry.addressType,
    label: entry.label,
    created_at: entry.createdAt.toISOString(),
    usable_from: usableFrom.toISOString(),
    cooled: isCooled(entry.createdAt, entry.coolingMs, accountCooling, now),
  };
}

function parseLabel(input: unknown): string {
  if (typeof input !== 'string' || input.trim().length === 0) throw invalidInput('label', 'is required');
  if (input.length > MAX_LABEL_LENGTH)
    throw invalidInput('label', `must be at most ${MAX_LABEL_LENGTH} characters`);
  // The label is shown in security emails: control (C0, C1), invisible or direction-changing characters,
  // line breaks and lone surrogates could disguise what was added, and < > is refused outright.
  if (/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}<>]/u.test(input))
    throw invalidInput('label', 'must not contain control, invisible or line-break characters, or < >');
  return input.trim();
}

function parseNetwork(input: unknown): Network {
  if (typeof input !== 'string' || !isNetwork(input))
    throw invalidInput('network', `must be one of ${NETWORKS.join(', ')}`);
  return input;
}

/** Adding needs a fresh second factor naming this action; the entry cools before it can be used. */
export async function addAddress(
  context: ServiceContext,
  auth: Authenticated,
  input: { network?: unknown; address?: unknown; label?: unknown; step_up_token?: unknown },
  meta: RequestMeta,
) {
  const network = parseNetwork(input.network);
  if (typeof input.address !== 'string') throw invalidInput('address', 'must be a string');
  const { normalized, type } = normalizeAddress(network, input.address);
  const label = parseLabel(input.label);
  return inTransaction(context.database, async (tx) => {
    const principal = await lockAccount(tx, auth);
    await consumeStepUp(tx, context, auth, 'address_book.add', input.step_up_token);
    const now = context.clock.now();
    if ((await findLiveEntry(tx, auth.principalId, network, normalized)) !== undefined) {
      throw new DomainError('ALREADY_EXISTS', 'this address is already in your address book', {
        field: 'address',
      });
    }
    if ((await countLiveEntries(tx, auth.principalId)) >= MAX_ENTRIES) {
      throw new DomainError('LIMIT_REACHED', `an address book holds at most ${MAX_ENTRIES} entries`, {
        field: 'address',
      });
    }
    const cooling = await accountCoolingMs(tx, auth.principalId, now);
    const entry = await insertEntry(tx, {
      accountId: auth.principalId,
      network,
      address: normalized,
      addressType: type,
      label,
      coolingMs: cooling,
      createdAt: now,
    });
    const described = describeEntry(entry, cooling, now);
    await audit(tx, context, {
      actor: `customer:${auth.principalId}`,
      action: 'address_book.added',
      subject: `address:${entry.id}`,
      data: { network, address: normalized, label, usable_from: described.usable_from, ip: meta.ip },
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'address_book.added',
      headline: 'A withdrawal address was added to your address book',
      lines: [
        `Address: ${normalized} (${network}), label "${label}".`,
        `It can receive withdrawals from ${described.usable_from}. If you did not add it, lock your account now.`,
      ],
      meta,
    });
    return described;
  });
}

export async function listAddresses(context: ServiceContext, auth: Authenticated) {
  const now = context.clock.now();
  const db = context.database;
  const cooling = await accountCoolingMs(db, auth.principalId, now);
  const entries = await listLiveEntries(db, auth.principalId, MAX_ENTRIES);
  return { cooling_period_ms: cooling, entries: entries.map((e) => describeEntry(e, cooling, now)) };
}

export async function removeAddress(
  context: ServiceContext,
  auth: Authenticated,
  id: string,
  input: { step_up_token?: unknown },
  meta: RequestMeta,
) {
  return inTransaction(context.database, async (tx) => {
    const principal = await lockAccount(tx, auth);
    await consumeStepUp(tx, context, auth, 'address_book.remove', input.step_up_token);
    const entry = await findEntry(tx, auth.principalId, id);
    if (entry === undefined || entry.removedAt !== null)
      throw new DomainError('NOT_FOUND', `address ${id} does not exist`);
    const now = context.clock.now();
    assert(
      await markRemoved(tx, entry.id, now),
      `live entry ${entry.id} is removed once, under the account lock`,
    );
    await audit(tx, context, {
      actor: `customer:${auth.principalId}`,
      action: 'address_book.removed',
      subject: `address:${entry.id}`,
      data: { network: entry.network, address: entry.address, ip: meta.ip },
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'address_book.removed',
      headline: 'A withdrawal address was removed from your address book',
      lines: [`Address: ${entry.address} (${entry.network}), label "${entry.label}".`],
      meta,
    });
    return { id: entry.id, removed_at: now.toISOString() };
  });
}

/** Lengthening the cooling period applies at once; shortening only after the current period has passed. */
export async function setCoolingPeriod(
  context: ServiceContext,
  auth: Authenticated,
  input: { cooling_period_hours?: unknown; step_up_token?: unknown },
  meta: RequestMeta,
) {
  const requestedMs = parseCoolingHours(input.cooling_period_hours);
  return inTransaction(context.database, async (tx) => {
    const principal = await lockAccount(tx, auth);
    await consumeStepUp(tx, context, auth, 'address_book.settings', input.step_up_token);
    const now = context.clock.now();
    const current = await accountCoolingMs(tx, auth.principalId, now);
    const effectiveAt = coolingChangeEffectiveAt(current, requestedMs, now);
    const pending = await pendingCoolingChangeTimes(
      tx,
      auth.principalId,
      now,
      MAX_PENDING_COOLING_CHANGES + 1,
    );
    if (effectiveAt.getTime() > now.getTime() && pending.length >= MAX_PENDING_COOLING_CHANGES) {
      throw new DomainError(
        'LIMIT_REACHED',
        'too many cooling-period changes are waiting; try again once they apply',
        {
          field: 'cooling_period_hours',
        },
      );
    }
    assert(pending.length <= MAX_PENDING_COOLING_CHANGES, 'pending cooling changes stay within their bound');
    // The newest choice replaces every change still waiting (else a thief's queued shortening would apply
    // after the customer set the period back). History stays append-only: a row is recorded again at each
    // waiting time, and of rows with equal times the later one (a larger time-ordered id) is the one read.
    for (const at of pending) {
      await recordSetting(tx, {
        principalId: auth.principalId,
        setting: COOLING_SETTING,
        value: String(Date.parse(at) < effectiveAt.getTime() ? current : requestedMs),
        effectiveAt: at,
      });
    }
    await recordSetting(tx, {
      principalId: auth.principalId,
      setting: COOLING_SETTING,
      value: String(requestedMs),
      effectiveAt: effectiveAt.toISOString(),
    });
    await audit(tx, context, {
      actor: `customer:${auth.principalId}`,
      action: 'address_book.cooling_changed',
      subject: `customer:${auth.principalId}`,
      data: {
        from_ms: current,
        to_ms: requestedMs,
        effective_at: effectiveAt.toISOString(),
        replaced_pending: pending,
      },
    });
    await notifyPrincipal(tx, context, principal, {
      event: 'address_book.cooling_changed',
      headline: `Address cooling period set to ${requestedMs / 3_600_000} hours`,
      lines: [
        `The change takes effect at ${effectiveAt.toISOString()}.`,
        ...(pending.length === 0 ? [] : ['It replaces the changes that were still waiting to take effect.']),
      ],
      meta,
    });
    return { cooling_period_ms: requestedMs, effective_at: effectiveAt.toISOString() };
  });
}
