import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { parseIdField } from '../../core/list-query.ts';
import { findHalt, type HaltRow, liftHaltRow } from '../../store/halts.ts';
import { findPrincipal } from '../../store/identity/principals.ts';
import {
  findResumeApproval,
  findResumeRequest,
  incidentHalts,
  incidentResumeRequests,
  insertResumeApproval,
  insertResumeRequest,
  resumeRequestHaltIds,
} from '../../store/incident-halts.ts';
import { findIncident } from '../../store/incidents.ts';
import { isUniqueViolation } from '../../store/review-approvals.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { type HaltInput, parseHalt, parseReason, placeHalt } from '../halts.ts';
import { type Actor, actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { operatorEmails } from '../identity/operator-emails.ts';
import { enqueueWebhookEvent } from '../webhook-events.ts';
import { haltsOfIncident } from './incident-halts.ts';
import { incidentAudit, incidentToActOn, notFoundIncident } from './incidents.ts';

/**
 * Halting for an incident is immediate (one incident commander); lifting an incident's or the monitor's halts is
 * a request by one operator and an approval by another, enforced here and by the database (migration 0045: the
 * approval's CHECK and trigger, and the trigger on halts that refuses the lift without an approval naming it).
 */

/** At most this many halts in one resume request (its audit entry lists them; account freezes are lifted by unfreeze). */
export const RESUME_HALTS_MAX = 200;
/** An incident's halts read for its downtime and its default resume: its few halts and its freezes. */
const INCIDENT_HALTS_READ = 20_000;

/** Halts (global, an asset, an account) for an incident: as `halt set`, carrying the incident id. */
export async function haltForIncident(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: HaltInput,
): Promise<HaltRow> {
  const acting = authorize(operator, 'incident.halt');
  const incidentId = parseIdField('id', incidentIdInput);
  const scope = parseHalt(input);
  const reason = parseReason(input.reason);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    if (scope.scope === 'account' && (await findPrincipal(tx, scope.accountId))?.kind !== 'customer')
      throw invalidInput('account_id', 'is not the id of a customer account');
    return placeHalt(tx, context, { by: actorName(acting), scope, reason, incidentId });
  });
}

function viewRequest(
  row: { id: string; incident_id: string; requested_by: string; requested_at: string; reason: string },
  haltIds: readonly string[],
  approval: { approved_by: string | null; approved_at: string | null } | undefined,
) {
  return {
    id: row.id,
    incident_id: row.incident_id,
    requested_by: row.requested_by,
    requested_at: row.requested_at,
    reason: row.reason,
    halt_ids: [...haltIds],
    status: approval?.approved_by == null ? ('pending' as const) : ('approved' as const),
    approved_by: approval?.approved_by ?? null,
    approved_at: approval?.approved_at ?? null,
  };
}

export type ResumeRequestView = ReturnType<typeof viewRequest>;

function parseHaltIds(input: unknown): string[] | undefined {
  if (input === undefined) return undefined;
  if (!Array.isArray(input) || input.length === 0 || input.length > RESUME_HALTS_MAX)
    throw invalidInput('halt_ids', `must be a list of 1..${RESUME_HALTS_MAX} halt ids`);
  const ids = input.map((id, i) => parseIdField(`halt_ids/${i}`, id));
  return [...new Set(ids)];
}

/**
 * Asks for halts to be lifted: by default every active halt the incident placed (not its account freezes, which
 * `unfreeze` lifts one account at a time), or the listed `halt_ids` (which may name the monitor's halts, or the
 * incident's freezes). Nothing is lifted until another operator approves.
 */
export async function requestResume(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: { reason?: unknown; halt_ids?: unknown },
): Promise<ResumeRequestView> {
  const acting = authorize(operator, 'incident.resume_request');
  const incidentId = parseIdField('id', incidentIdInput);
  const reason = parseReason(input.reason);
  const asked = parseHaltIds(input.halt_ids);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    let haltIds: string[];
    if (asked === undefined) {
      const halts = await incidentHalts(tx, incidentId, INCIDENT_HALTS_READ);
      haltIds = halts.filter((h) => h.lifted_at === null && h.scope !== 'account').map((h) => h.id);
      if (haltIds.length > RESUME_HALTS_MAX)
        throw invalidInput('halt_ids', `the incident has more than ${RESUME_HALTS_MAX} halts: name them`);
    } else {
      for (const [i, id] of asked.entries()) {
        const halt = await findHalt(tx, id);
        if (halt === undefined) throw invalidInput(`halt_ids/${i}`, 'is not the id of a halt');
        if (halt.lifted_at !== null) throw invalidInput(`halt_ids/${i}`, 'is already lifted');
        const ours = halt.incident_id === incidentId;
        const monitors = halt.created_by.startsWith('system:') && (halt.incident_id ?? null) === null;
        if (!ours && !monitors)
          throw invalidInput(`halt_ids/${i}`, "is neither this incident's halt nor the monitor's");
      }
      haltIds = asked;
    }
    if (haltIds.length === 0)
      throw new DomainError('WRONG_STATE', 'the incident has no active halt to lift', {
        field: 'halt_ids',
      });
    const now = context.clock.now().toISOString();
    const row = { id: newId(), incident_id: incidentId, requested_by: actor, requested_at: now, reason };
    await insertResumeRequest(tx, row, haltIds);
    await incidentAudit(tx, context, {
      actor,
      action: 'incident.resume_requested',
      incidentId,
      subject: `resume:${row.id}`,
      data: { halt_ids: haltIds, reason },
    });
    return viewRequest(row, haltIds, undefined);
  });
}

/**
 * Approves another operator's resume request and lifts its halts, in one transaction: never one's own request
 * (409 SAME_OPERATOR here; the database's CHECK and trigger refuse it too), and once (409). Tells integrators
 * (webhook `incident.resumed`).
 */
export async function approveResume(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  requestIdInput: unknown,
): Promise<ResumeRequestView & { lifted: number }> {
  const acting = authorize(operator, 'incident.resume_approve');
  const incidentId = parseIdField('id', incidentIdInput);
  const requestId = parseIdField('request_id', requestIdInput);
  const actor = actorName(acting);
  try {
    return await inTransaction(context.database, async (tx) => {
      await incidentToActOn(context.database, tx, incidentId);
      const request = await findResumeRequest(tx, requestId);
      if (request === undefined || request.incident_id !== incidentId)
        throw new DomainError('NOT_FOUND', `resume request ${requestId} does not exist`, {
          field: 'request_id',
          details: { id: requestId },
        });
      if (request.requested_by === actor)
        throw new DomainError('SAME_OPERATOR', 'a resume needs a second operator: you asked for this one', {
          field: 'request_id',
          details: { requested_by: request.requested_by },
        });
      if ((await findResumeApproval(tx, requestId)) !== undefined) throw alreadyApproved();
      const now = context.clock.now().toISOString();
      await insertResumeApproval(tx, {
        request_id: requestId,
        requested_by: request.requested_by,
        approved_by: actor,
        approved_at: now,
      });
      const haltIds = await resumeRequestHaltIds(tx, requestId, RESUME_HALTS_MAX);
      let lifted = 0;
      for (const id of haltIds) if (await liftHaltRow(tx, id, actor, now)) lifted += 1;
      await incidentAudit(tx, context, {
        actor,
        action: 'incident.resumed',
        incidentId,
        subject: `resume:${requestId}`,
        data: { requested_by: request.requested_by, halt_ids: haltIds, lifted },
      });
      await enqueueWebhookEvent(tx, context, {
        event: 'incident.resumed',
        accountId: null,
        payload: { incident_id: incidentId, request_id: requestId, halt_ids: haltIds },
      });
      return {
        ...viewRequest(request, haltIds, { approved_by: actor, approved_at: now }),
        lifted,
      };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyApproved();
    throw error;
  }
}

function alreadyApproved(): DomainError {
  return new DomainError('CONFLICT', 'this resume request is already approved', { field: 'request_id' });
}

/** A halt's span and the incident's downtime: the union of its global and asset halts, set to lifted (or now). */
export interface IncidentDowntime {
  readonly halts: readonly {
    id: string;
    scope: string;
    asset: string | null;
    account_id: string | null;
    created_at: string;
    lifted_at: string | null;
    duration_ms: number;
  }[];
  /** Time when at least one global or asset halt of the incident was in force, in ms. */
  readonly downtime_ms: number;
  /** Time when a global halt of the incident was in force, in ms. */
  readonly global_downtime_ms: number;
  readonly accounts_frozen: number;
  readonly active: number;
  /** Each with the emails of who asked and who approved, for people. */
  readonly resume_requests: readonly (ResumeRequestView & {
    requested_by_email: string | null;
    approved_by_email: string | null;
  })[];
}

function unionMs(spans: readonly (readonly [number, number])[]): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/**
 * Downtime measured from the halt records, per incident: each halt's span (set to lifted, or to now while it is
 * in force), and the union over its global and asset halts (its own and the monitor's in its window: see
 * incident-halts.ts; the report counts the same). Account freezes are counted, not added to downtime.
 * Past INCIDENT_HALTS_READ halts the answer says `truncated` rather than undercount silently.
 */
export async function incidentDowntime(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
): Promise<IncidentDowntime & { truncated: boolean }> {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  const db = context.database;
  const incident = await findIncident(db, incidentId);
  if (incident === undefined) throw notFoundIncident(incidentId);
  const at = context.clock.now();
  const halts = await haltsOfIncident(db, incident, at.toISOString(), INCIDENT_HALTS_READ + 1);
  const now = at.getTime();
  const spans = halts.slice(0, INCIDENT_HALTS_READ).map((h) => {
    const end = h.lifted_at === null ? now : Date.parse(h.lifted_at);
    return { halt: h, span: [Date.parse(h.created_at), end] as const };
  });
  const requests = await incidentResumeRequests(db, incidentId, 50);
  const views: ResumeRequestView[] = [];
  for (const r of requests)
    views.push(viewRequest(r, await resumeRequestHaltIds(db, r.id, RESUME_HALTS_MAX), r));
  const emailOf = await operatorEmails(
    context,
    views.flatMap((v) => [v.requested_by, v.approved_by]),
  );
  return {
    halts: spans
      .filter((s) => s.halt.scope !== 'account')
      .map(({ halt, span }) => ({
        id: halt.id,
        scope: halt.scope,
        asset: halt.asset,
        account_id: halt.account_id,
        created_at: halt.created_at,
        lifted_at: halt.lifted_at,
        duration_ms: span[1] - span[0],
      })),
    downtime_ms: unionMs(spans.filter((s) => s.halt.scope !== 'account').map((s) => s.span)),
    global_downtime_ms: unionMs(spans.filter((s) => s.halt.scope === 'global').map((s) => s.span)),
    accounts_frozen: spans.filter((s) => s.halt.scope === 'account' && s.halt.lifted_at === null).length,
    active: spans.filter((s) => s.halt.lifted_at === null).length,
    resume_requests: views.map((v) => ({
      ...v,
      requested_by_email: emailOf(v.requested_by),
      approved_by_email: emailOf(v.approved_by),
    })),
    truncated: halts.length > INCIDENT_HALTS_READ,
  };
}
