import { createHash } from 'node:crypto';
import { DomainError, invalidInput, notFound } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { incidentLosses as countLosses } from '../../core/incidents/losses.ts';
import { withdrawalOutcome } from '../../core/incidents/outcome.ts';
import { formatAmount, getAsset } from '../../core/money/index.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import { type AffectedWithdrawalRow, affectedWithdrawalFacts } from '../../store/incident-losses.ts';
import {
  approveReimbursementRow,
  insertReimbursement,
  itemsForWithdrawals,
  itemsOf,
  lockReimbursement,
  markItemPaid,
  nextUnpaidItems,
  type ReimbursementItemRow,
  type ReimbursementRow,
  reimbursedTotals,
  reimbursementsOf,
} from '../../store/incident-reimbursements.ts';
import { availableOf, transfer } from '../../store/ledger/index.ts';
import type { IncidentReimbursementItemsTable } from '../../store/schema-reimbursements.ts';
import { inReadSnapshot, inTransaction, lockRows, type Tx } from '../../store/transaction.ts';
import { findWithdrawal } from '../../store/withdrawals.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { notifyPrincipal } from '../notify.ts';
import { customerAccount } from '../withdrawals/ledger-accounts.ts';
import { existingIncident, incidentIdOf } from './losses.ts';
import { treasuryAccount } from './treasury.ts';

/**
 * Paying back an incident's losses, four-eyed: one operator requests (the unauthorized withdrawals that completed,
 * each for its amount + fee), a second, different one approves (the database refuses the requester), then the
 * request is paid from the treasury in bounded batches, one ledger transfer per withdrawal with an id derived from
 * incident and withdrawal, so paying twice books nothing twice. Each customer is told (email and webhook) in the
 * transaction that pays them. Every step is audited with the incident id.
 */

/** Withdrawals in one request at most; more eligible ones wait for the next request. */
export const MAX_REQUEST_ITEMS = 10_000;
/** Withdrawals paid in one batch (one transaction) by default and at most. */
export const DEFAULT_BATCH = 100;
export const MAX_BATCH = 500;

/** The ledger transfer that pays back `withdrawalId` for `incidentId`: the same id every time it is tried. */
export function reimbursementTransferId(incidentId: string, withdrawalId: string): string {
  return `reimbursement:${incidentId}:${withdrawalId}`;
}

function reimbursementIdOf(value: unknown): string {
  return incidentIdOf(value, 'reimbursement_id');
}

export interface ReimbursementRequestInput {
  readonly reason?: unknown;
  /** Only these withdrawals; every eligible one of the incident when absent. */
  readonly withdrawal_ids?: unknown;
}

function requestInput(input: ReimbursementRequestInput) {
  if (typeof input.reason !== 'string' || input.reason.trim().length < 3 || input.reason.length > 500) {
    throw invalidInput('reason', 'must be 3..500 characters');
  }
  const ids = input.withdrawal_ids;
  if (ids === undefined) return { reason: input.reason, only: undefined };
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_REQUEST_ITEMS) {
    throw invalidInput('withdrawal_ids', `must be a list of 1..${MAX_REQUEST_ITEMS} withdrawal ids`);
  }
  for (const [i, id] of ids.entries()) incidentIdOf(id, `withdrawal_ids/${i}`);
  if (new Set(ids).size !== ids.length) throw invalidInput('withdrawal_ids', 'names a withdrawal twice');
  return { reason: input.reason, only: new Set(ids as string[]) };
}

/**
 * Requests that the incident's unauthorized, lost withdrawals not yet reimbursed be paid back (incident commander or
 * admin). Naming a withdrawal that is not eligible (legitimate or suspect, not lost, not of this incident, already
 * reimbursed) is a 409 naming it, and nothing is requested.
 */
export async function requestReimbursement(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  input: ReimbursementRequestInput,
) {
  authorize(actor, 'incident.reimburse_request');
  const incidentId = incidentIdOf(id);
  const { reason, only } = requestInput(input);
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now().toISOString();
    const incident = await existingIncident(tx, incidentId);
    if (incident.status === 'closed') {
      throw new DomainError('WRONG_STATE', `incident ${incidentId} is closed`, { field: 'id' });
    }
    const facts = await affectedWithdrawalFacts(tx, incidentId);
    const lost = facts.filter(
      (f) => f.classification === 'unauthorized' && withdrawalOutcome(f.state) === 'lost',
    );
    const taken = new Set(
      (
        await itemsForWithdrawals(
          tx,
          lost.map((f) => f.withdrawalId),
        )
      ).map((i) => i.withdrawal_id),
    );
    const eligible = lost.filter((f) => !taken.has(f.withdrawalId));
    if (only !== undefined) {
      const eligibleIds = new Set(eligible.map((f) => f.withdrawalId));
      const refused = [...only].filter((w) => !eligibleIds.has(w));
      if (refused.length > 0) {
        throw new DomainError(
          'CONFLICT',
          'only unauthorized withdrawals of this incident that completed and are not reimbursed yet can be paid back',
          { field: 'withdrawal_ids', details: { not_eligible: refused.slice(0, 100) } },
        );
      }
    }
    const chosen = (only === undefined ? eligible : eligible.filter((f) => only.has(f.withdrawalId))).slice(
      0,
      MAX_REQUEST_ITEMS,
    );
    if (chosen.length === 0) {
      throw new DomainError(
        'WRONG_STATE',
        `incident ${incidentId} has no unauthorized loss left to reimburse`,
        {
          field: 'id',
        },
      );
    }
    const reimbursementId = newId();
    const items: IncidentReimbursementItemsTable[] = chosen.map((f) => ({
      withdrawal_id: f.withdrawalId,
      reimbursement_id: reimbursementId,
      incident_id: incidentId,
      account_id: f.accountId,
      asset: f.asset,
      units: (f.amount + f.fee).toString(),
      transfer_id: null,
      paid_at: null,
    }));
    const row = {
      id: reimbursementId,
      incident_id: incidentId,
      status: 'requested' as const,
      reason,
      requested_by: actor.id,
      requested_at: now,
      approved_by: null,
      approved_at: null,
      items_digest: null,
    };
    await insertReimbursement(tx, row, items);
    const totals = perAssetUnits(items);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'incident.reimbursement_requested',
      subject: `incident:${incidentId}`,
      data: {
        incident_id: incidentId,
        reimbursement_id: reimbursementId,
        withdrawals: items.length,
        totals: Object.fromEntries([...totals].map(([a, u]) => [a, u.toString()])),
        reason,
      },
    });
    return requestView(row, items, eligible.length - chosen.length);
  });
}

/**
 * Approves a request (incident commander or admin), never by the operator who made it (409 SAME_OPERATOR; the
 * database refuses it too). Every withdrawal is checked again first: one reclassified, no longer lost, or whose
 * terms no longer match what was requested makes the approval a 409 naming it, and nothing is approved.
 */
export async function approveReimbursement(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  reimbursement: unknown,
) {
  authorize(actor, 'incident.reimburse_approve');
  const incidentId = incidentIdOf(id);
  const reimbursementId = reimbursementIdOf(reimbursement);
  return inTransaction(context.database, async (tx) => {
    const now = context.clock.now().toISOString();
    const row = await requestOf(tx, incidentId, reimbursementId, lockRows(context.database));
    if (row.status !== 'requested') {
      throw new DomainError('ALREADY_RESOLVED', `reimbursement ${reimbursementId} is already approved`, {
        details: { approved_by: row.approved_by },
      });
    }
    if (row.requested_by === actor.id) {
      throw new DomainError(
        'SAME_OPERATOR',
        'a reimbursement is approved by a second operator, not its requester',
        {
          details: { requested_by: row.requested_by },
        },
      );
    }
    const items = await itemsOf(tx, reimbursementId);
    const stale = await staleItems(tx, row, items);
    if (stale.length > 0) {
      throw new DomainError(
        'CONFLICT',
        'some withdrawals of this request are no longer unauthorized losses',
        {
          field: 'reimbursement_id',
          details: { not_eligible: stale.slice(0, 100) },
        },
      );
    }
    const digest = itemsDigest(items);
    await approveReimbursementRow(tx, reimbursementId, actor.id, now, digest);
    await audit(tx, context, {
      actor: actorName(actor),
      action: 'incident.reimbursement_approved',
      subject: `incident:${incidentId}`,
      data: { incident_id: incidentId, reimbursement_id: reimbursementId, requested_by: row.requested_by },
    });
    return requestView(
      { ...row, status: 'approved', approved_by: actor.id, approved_at: now, items_digest: digest },
      items,
      0,
    );
  });
}

/**
 * Pays the next batch (`batch_size`, 1..500, default 100) of an approved request: one transaction, one ledger
 * transfer per withdrawal (treasury to the customer's balance, amount + fee), the customer told by email and
 * webhook, each payment audited. A treasury that cannot cover the whole batch in some asset is a 409
 * INSUFFICIENT_FUNDS naming the asset, and nothing of the batch is paid. Returns the progress; call again until
 * `remaining` is 0. Paying a withdrawal already paid does nothing.
 */
export async function executeReimbursement(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  reimbursement: unknown,
  input: { readonly batch_size?: unknown } = {},
) {
  authorize(actor, 'incident.reimburse_approve');
  const incidentId = incidentIdOf(id);
  const reimbursementId = reimbursementIdOf(reimbursement);
  const batch = batchSizeOf(input.batch_size);
  return inTransaction(context.database, async (tx) => {
    const at = context.clock.now();
    const rowLocks = lockRows(context.database);
    const row = await requestOf(tx, incidentId, reimbursementId, rowLocks);
    if (row.status !== 'approved') {
      throw new DomainError(
        'WRONG_STATE',
        `reimbursement ${reimbursementId} awaits a second operator's approval`,
        {
          field: 'reimbursement_id',
        },
      );
    }
    // The items must be exactly those approved (a row added, removed or changed since is refused, whoever wrote it).
    // Bounded by the request's own bound (MAX_REQUEST_ITEMS).
    if (itemsDigest(await itemsOf(tx, reimbursementId)) !== row.items_digest) {
      throw new DomainError(
        'CONFLICT',
        'the withdrawals of this request are no longer those that were approved: nothing is paid',
        { field: 'reimbursement_id' },
      );
    }
    const items = await nextUnpaidItems(tx, reimbursementId, batch, rowLocks);
    const stale = await staleItems(tx, row, items);
    if (stale.length > 0) {
      throw new DomainError(
        'CONFLICT',
        'some withdrawals of this request no longer match what was approved',
        {
          field: 'reimbursement_id',
          details: { not_eligible: stale.slice(0, 100) },
        },
      );
    }
    await checkTreasuryCovers(tx, perAssetUnits(items), at);
    for (const item of items) await payItem(tx, context, actor, item, at);
    const all = await itemsOf(tx, reimbursementId);
    const paid = all.filter((i) => i.paid_at !== null).length;
    return {
      reimbursement_id: reimbursementId,
      incident_id: incidentId,
      paid_now: items.length,
      paid,
      remaining: all.length - paid,
      total: all.length,
    };
  });
}

async function payItem(
  tx: Tx,
  context: ServiceContext,
  actor: OperatorActor,
  item: ReimbursementItemRow,
  at: Date,
) {
  const asset = getAsset(item.asset);
  const units = BigInt(String(item.units));
  const transferId = reimbursementTransferId(item.incident_id, item.withdrawal_id);
  const treasury = await treasuryAccount(tx, asset.code, at);
  const customer = await customerAccount(tx, item.account_id, asset.code, at);
  await transfer(
    tx,
    {
      id: transferId,
      debitAccountId: treasury.id,
      creditAccountId: customer.id,
      asset: asset.code,
      amount: units,
      code: 'reimbursement',
      reference: `incident:${item.incident_id}`,
    },
    at,
  );
  if (!(await markItemPaid(tx, item.withdrawal_id, transferId, at.toISOString()))) return;
  const amount = formatAmount(units, asset);
  await audit(tx, context, {
    actor: actorName(actor),
    action: 'incident.reimbursement_paid',
    subject: `withdrawal:${item.withdrawal_id}`,
    data: {
      incident_id: item.incident_id,
      reimbursement_id: item.reimbursement_id,
      withdrawal_id: item.withdrawal_id,
      account_id: item.account_id,
      asset: asset.code,
      units: units.toString(),
      transfer_id: transferId,
    },
  });
  const principal = await findPrincipal(tx, item.account_id);
  if (principal === undefined) return;
  await notifyPrincipal(tx, context, principal, {
    event: 'account.reimbursed',
    headline: `We paid back ${amount} ${asset.code} taken from your account`,
    lines: [
      `The withdrawal ${item.withdrawal_id} was not authorised by you. We have credited ${amount} ${asset.code} ` +
        '(its amount and fee) back to your balance.',
      `Incident reference: ${item.incident_id}.`,
    ],
  });
}

/** Per asset, what `items` ask for. */
function perAssetUnits(items: readonly Pick<ReimbursementItemRow, 'asset' | 'units'>[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const item of items)
    totals.set(item.asset, (totals.get(item.asset) ?? 0n) + BigInt(String(item.units)));
  return totals;
}

async function checkTreasuryCovers(tx: Tx, needed: ReadonlyMap<string, bigint>, at: Date): Promise<void> {
  for (const [code, units] of [...needed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const treasury = await treasuryAccount(tx, code, at);
    const available = availableOf(treasury);
    if (available < units) {
      const asset = getAsset(code);
      throw new DomainError(
        'INSUFFICIENT_FUNDS',
        `the ${code} treasury holds ${formatAmount(available, asset)}, this batch needs ${formatAmount(units, asset)}: fund it first (drawbridge incident treasury fund)`,
        {
          field: 'asset',
          details: {
            asset: code,
            available: formatAmount(available, asset),
            needed: formatAmount(units, asset),
          },
        },
      );
    }
  }
}

/**
 * What the approval fixes: `count:sha256` over the items sorted by withdrawal, each as its withdrawal, incident,
 * account, asset and units (what decides who is paid what). Paid state is left out: paying changes it.
 */
export function itemsDigest(items: readonly ReimbursementItemRow[]): string {
  const lines = items
    .map((i) => [i.withdrawal_id, i.incident_id, i.account_id, i.asset, String(i.units)].join('\t'))
    .sort();
  return `${lines.length}:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/**
 * The items whose withdrawal is no longer what the request was made for: not completed, not unauthorized in this
 * incident, marked so only after the request was made, another account, or other units than amount + fee (an item
 * row written around the service to pay more than was lost is refused here).
 */
async function staleItems(
  tx: Tx,
  request: ReimbursementRow,
  items: readonly ReimbursementItemRow[],
): Promise<string[]> {
  const incidentId = request.incident_id;
  const stale: string[] = [];
  for (const item of items) {
    const withdrawal = await findWithdrawal(tx, item.withdrawal_id);
    const marking = await tx
      .selectFrom('incident_withdrawals')
      .select(['classification', 'marked_at'])
      .where('incident_id', '=', incidentId)
      .where('withdrawal_id', '=', item.withdrawal_id)
      .executeTakeFirst();
    const ok =
      withdrawal !== undefined &&
      marking?.classification === 'unauthorized' &&
      marking.marked_at <= request.requested_at &&
      withdrawal.state === 'completed' &&
      withdrawal.account_id === item.account_id &&
      withdrawal.asset === item.asset &&
      item.incident_id === incidentId &&
      BigInt(String(withdrawal.amount)) + BigInt(String(withdrawal.fee)) === BigInt(String(item.units));
    if (!ok) stale.push(item.withdrawal_id);
  }
  return stale;
}

async function requestOf(tx: Tx, incidentId: string, reimbursementId: string, rowLocks: boolean) {
  await existingIncident(tx, incidentId);
  const row = await lockReimbursement(tx, reimbursementId, rowLocks);
  if (row === undefined || row.incident_id !== incidentId) throw notFound('reimbursement', reimbursementId);
  return row;
}

function batchSizeOf(value: unknown): number {
  if (value === undefined) return DEFAULT_BATCH;
  const n = typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BATCH) {
    throw invalidInput('batch_size', `must be an integer 1..${MAX_BATCH}`);
  }
  return n;
}

function requestView(row: ReimbursementRow, items: readonly ReimbursementItemRow[], notIncluded: number) {
  const paid = items.filter((i) => i.paid_at !== null).length;
  return {
    id: row.id,
    incident_id: row.incident_id,
    status: row.status,
    reason: row.reason,
    requested_by: row.requested_by,
    requested_at: row.requested_at,
    approved_by: row.approved_by,
    approved_at: row.approved_at,
    withdrawals: items.length,
    paid,
    remaining: items.length - paid,
    /** Eligible withdrawals left for a later request (past MAX_REQUEST_ITEMS). */
    not_included: notIncluded,
    totals: [...perAssetUnits(items)].map(([code, units]) => ({
      asset: code,
      total: formatAmount(units, getAsset(code)),
    })),
  };
}

/** At most this many requests are listed per incident. */
const MAX_LISTED_REQUESTS = 100;

/**
 * An incident's reimbursements and their reconciliation against its losses (any operator role), from one snapshot:
 * per asset, what is reimbursable (unauthorized and lost), requested, paid (by the items) and booked (by the ledger
 * transfers they name), and what is still outstanding. `reconciled` is true when every paid item is booked in the
 * ledger for exactly its units and nothing paid exceeds what was lost.
 */
export async function reimbursementStatus(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'incident.read');
  const incidentId = incidentIdOf(id);
  return inReadSnapshot(context.database, async (tx) => {
    await existingIncident(tx, incidentId);
    return reimbursementFacts(tx, incidentId);
  });
}

/**
 * The reconciliation of one incident inside the caller's snapshot (the report reads it too, and passes the affected
 * withdrawals it has already read in that snapshot, so they are read once).
 */
export async function reimbursementFacts(
  tx: Tx,
  incidentId: string,
  affected?: readonly AffectedWithdrawalRow[],
) {
  const losses = countLosses(affected ?? (await affectedWithdrawalFacts(tx, incidentId)));
  const totals = await reimbursedTotals(tx, incidentId);
  const requests = await reimbursementsOf(tx, incidentId, MAX_LISTED_REQUESTS);
  const codes = [...new Set([...losses.assets.map((a) => a.asset), ...totals.map((t) => t.asset)])].sort();
  const assets = codes.map((code) => {
    const asset = getAsset(code);
    const reimbursable = losses.assets.find((a) => a.asset === code)?.reimbursable.units ?? 0n;
    const t = totals.find((x) => x.asset === code);
    const paid = t?.paid_units ?? 0n;
    const booked = t?.ledger_units ?? 0n;
    return {
      asset: code,
      reimbursable: formatAmount(reimbursable, asset),
      requested: formatAmount(t?.requested_units ?? 0n, asset),
      paid: formatAmount(paid, asset),
      paid_count: t?.paid_count ?? 0,
      booked_in_ledger: formatAmount(booked, asset),
      outstanding: formatAmount(reimbursable > paid ? reimbursable - paid : 0n, asset),
      reconciled: paid === booked && paid <= reimbursable,
      units: { reimbursable, paid, booked },
    };
  });
  const requestViews = [];
  for (const r of requests) requestViews.push(requestView(r, await itemsOf(tx, r.id), 0));
  return {
    incident_id: incidentId,
    requests: requestViews,
    assets: assets.map(({ units: _units, ...view }) => view),
    reconciled: assets.every((a) => a.reconciled),
    outstanding_withdrawals:
      losses.assets.reduce((n, a) => n + a.reimbursable.count, 0) -
      totals.reduce((n, t) => n + t.paid_count, 0),
  };
}
