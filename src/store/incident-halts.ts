import type { HaltRow } from './halts.ts';
import type { IncidentResumeApprovalsTable, IncidentResumeRequestsTable } from './schema-incidents.ts';
import { type Queryable, queryable, type Tx } from './transaction.ts';

export type ResumeRequestRow = Readonly<IncidentResumeRequestsTable>;
export type ResumeApprovalRow = Readonly<IncidentResumeApprovalsTable>;

/** States in which a withdrawal may still be released later: an account holding one is not unfrozen alone. */
export const AWAITING_RELEASE = [
  'awaiting_confirmation',
  'screening',
  'held_for_review',
  'time_locked',
  'queued',
] as const;

/**
 * The halts an incident placed (active and lifted), oldest first, at most `limit`: its halts and freezes, for the
 * downtime and for a resume. An incident places a few halts and one per frozen account.
 */
export async function incidentHalts(on: Queryable, incidentId: string, limit: number): Promise<HaltRow[]> {
  return queryable(on)
    .selectFrom('halts')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * The monitor's platform halts (global or asset, set by `system:*` outside any incident) set in [from, until],
 * oldest first, at most `limit`. The monitor halts before anyone opens an incident, so these belong to the
 * incident whose window they fall in (see services/incidents/incident-halts.ts).
 */
export async function monitorHaltsBetween(
  on: Queryable,
  from: string,
  until: string,
  limit: number,
): Promise<HaltRow[]> {
  return queryable(on)
    .selectFrom('halts')
    .selectAll()
    .where('incident_id', 'is', null)
    .where('scope', 'in', ['global', 'asset'])
    .where('created_by', 'like', 'system:%')
    .where('created_at', '>=', from)
    .where('created_at', '<=', until)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** When the first withdrawal marked for the incident was requested, or null (the start of the incident's window). */
export async function firstAffectedRequest(on: Queryable, incidentId: string): Promise<string | null> {
  const row = await queryable(on)
    .selectFrom('incident_withdrawals as iw')
    .innerJoin('withdrawals as w', 'w.id', 'iw.withdrawal_id')
    .select((eb) => eb.fn.min<string>('w.created_at').as('at'))
    .where('iw.incident_id', '=', incidentId)
    .executeTakeFirst();
  return row?.at ?? null;
}

/** The active account halt (freeze) an incident placed on one account, if any. */
export async function activeIncidentAccountHalt(
  on: Queryable,
  incidentId: string,
  accountId: string,
): Promise<HaltRow | undefined> {
  return queryable(on)
    .selectFrom('halts')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .where('scope', '=', 'account')
    .where('account_id', '=', accountId)
    .where('lifted_at', 'is', null)
    .executeTakeFirst();
}

/** Which of `accountIds` already have an active account halt of this incident. */
export async function frozenByIncident(
  on: Queryable,
  incidentId: string,
  accountIds: readonly string[],
): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const rows = await queryable(on)
    .selectFrom('halts')
    .select('account_id')
    .where('incident_id', '=', incidentId)
    .where('scope', '=', 'account')
    .where('lifted_at', 'is', null)
    .where('account_id', 'in', accountIds as string[])
    .execute();
  return new Set(rows.flatMap((r) => (r.account_id === null ? [] : [r.account_id])));
}

/** Whether the account has a withdrawal that could still be released (see AWAITING_RELEASE). */
export async function hasWithdrawalAwaitingRelease(on: Queryable, accountId: string): Promise<boolean> {
  const row = await queryable(on)
    .selectFrom('withdrawals')
    .select('id')
    .where('account_id', '=', accountId)
    .where('state', 'in', [...AWAITING_RELEASE])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertResumeRequest(
  tx: Tx,
  row: IncidentResumeRequestsTable,
  haltIds: readonly string[],
): Promise<void> {
  await tx.insertInto('incident_resume_requests').values(row).execute();
  for (let i = 0; i < haltIds.length; i += 500) {
    await tx
      .insertInto('incident_resume_halts')
      .values(haltIds.slice(i, i + 500).map((halt_id) => ({ request_id: row.id, halt_id })))
      .execute();
  }
}

export async function findResumeRequest(on: Queryable, id: string): Promise<ResumeRequestRow | undefined> {
  return queryable(on)
    .selectFrom('incident_resume_requests')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The halts a request names, at most `limit`. */
export async function resumeRequestHaltIds(
  on: Queryable,
  requestId: string,
  limit: number,
): Promise<string[]> {
  const rows = await queryable(on)
    .selectFrom('incident_resume_halts')
    .select('halt_id')
    .where('request_id', '=', requestId)
    .orderBy('halt_id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.halt_id);
}

export async function findResumeApproval(
  on: Queryable,
  requestId: string,
): Promise<ResumeApprovalRow | undefined> {
  return queryable(on)
    .selectFrom('incident_resume_approvals')
    .selectAll()
    .where('request_id', '=', requestId)
    .executeTakeFirst();
}

/** Records the approval: the primary key makes it once per request, the CHECK and trigger make it another's. */
export async function insertResumeApproval(tx: Tx, row: IncidentResumeApprovalsTable): Promise<void> {
  await tx.insertInto('incident_resume_approvals').values(row).execute();
}

/** An incident's resume requests, newest first, at most `limit`, each with its approval if any. */
export async function incidentResumeRequests(
  on: Queryable,
  incidentId: string,
  limit: number,
): Promise<(ResumeRequestRow & { approved_by: string | null; approved_at: string | null })[]> {
  return queryable(on)
    .selectFrom('incident_resume_requests as r')
    .leftJoin('incident_resume_approvals as a', 'a.request_id', 'r.id')
    .select([
      'r.id',
      'r.incident_id',
      'r.requested_by',
      'r.requested_at',
      'r.reason',
      'a.approved_by',
      'a.approved_at',
    ])
    .where('r.incident_id', '=', incidentId)
    .orderBy('r.requested_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(limit)
    .execute();
}

/** Ends every session of every operator but `keepOperatorId`: an epoch per operator (there are few). */
export async function bumpOtherOperatorSessionEpochs(tx: Tx, keepOperatorId: string): Promise<number> {
  const result = await tx
    .updateTable('principals')
    .set((eb) => ({ session_epoch: eb('session_epoch', '+', 1) }))
    .where('kind', '=', 'operator')
    .where('id', '<>', keepOperatorId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Locks customer accounts for an incident without a notice each: every session ends (the account's epoch) and
 * `locked_reason` names the incident, so unfreezing unlocks only what the incident locked. An account already
 * locked (by its owner, say) keeps its lock and reason. In slices of 500.
 */
export async function lockCustomersForIncident(
  tx: Tx,
  ids: readonly string[],
  reason: string,
  at: string,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500) as string[];
    await tx
      .updateTable('principals')
      .set((eb) => ({ session_epoch: eb('session_epoch', '+', 1) }))
      .where('kind', '=', 'customer')
      .where('id', 'in', slice)
      .execute();
    await tx
      .updateTable('principals')
      .set({ locked_at: at, locked_reason: reason })
      .where('kind', '=', 'customer')
      .where('id', 'in', slice)
      .where('locked_at', 'is', null)
      .execute();
  }
}
