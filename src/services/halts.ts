import { DomainError, invalidInput } from '../core/errors.ts';
import type { HaltScope } from '../core/halts/halt-scope.ts';
import { haltFields } from '../core/halts/halt-scope.ts';
import { newId } from '../core/ids.ts';
import { getAsset } from '../core/money/index.ts';
import { isNetwork, type Network } from '../core/networks.ts';
import { pageLimit } from '../core/paging.ts';
import { activeHaltsPage, findHalt, type HaltRow, insertHalt, liftHaltRow } from '../store/halts.ts';
import { findPrincipal } from '../store/identity/principals.ts';
import { inTransaction, type Tx } from '../store/transaction.ts';
import { audit } from './audit.ts';
import type { ServiceContext } from './context.ts';
import {
  actorName,
  authorize,
  type BreakGlassActor,
  type OperatorActor,
} from './identity/acting-operator.ts';
import { operatorEmails } from './identity/operator-emails.ts';

export type { HaltScope };

/** A halt as asked for: the body of POST /v1/operator/halts, or the CLI's flags made into one. */
export interface HaltInput {
  readonly scope?: unknown;
  readonly asset?: unknown;
  readonly network?: unknown;
  readonly account_id?: unknown;
  readonly reason?: unknown;
}

export function parseHalt(input: HaltInput): HaltScope {
  if (input.scope === 'global') return { scope: 'global' };
  if (input.scope === 'asset') {
    if (typeof input.asset !== 'string') throw invalidInput('asset', 'is required for an asset halt');
    const asset = getAsset(input.asset);
    if (input.network === undefined) return { scope: 'asset', asset: asset.code, network: null };
    if (typeof input.network !== 'string' || !isNetwork(input.network))
      throw invalidInput('network', 'is not a known network');
    if (!asset.carriers.some((carrier) => carrier.network === input.network))
      throw invalidInput('network', `${asset.code} does not move on that network`);
    return { scope: 'asset', asset: asset.code, network: input.network as Network };
  }
  if (input.scope === 'account') {
    if (typeof input.account_id !== 'string' || input.account_id.length === 0 || input.account_id.length > 64)
      throw invalidInput('account_id', 'is required for an account halt');
    return { scope: 'account', accountId: input.account_id };
  }
  throw invalidInput('scope', 'must be global, asset or account');
}

/**
 * Sets a halt. Once this returns, nothing it covers is released, on any node (see store/halts.ts). An operator
 * whose role may halt, or break glass at the server's console: then the audit entry is critical.
 */
export async function setHalt(
  context: ServiceContext,
  actor: OperatorActor | BreakGlassActor,
  input: HaltInput,
): Promise<HaltRow> {
  if (actor.kind !== 'break_glass') authorize(actor, 'halt.set');
  const scope = parseHalt(input);
  const reason = parseReason(input.reason);
  const by = actorName(actor);
  return inTransaction(context.database, async (tx) => {
    // A halt that names no customer covers nothing and would only look like protection.
    if (scope.scope === 'account' && (await findPrincipal(tx, scope.accountId))?.kind !== 'customer')
      throw invalidInput('account_id', 'is not the id of a customer account');
    return placeHalt(tx, context, { by, scope, reason, breakGlass: actor.kind === 'break_glass' });
  });
}

/**
 * Places a halt inside the caller's transaction and audits it: an operator's (setHalt), or the system's own, as
 * the monitor halts on a critical finding in the same transaction that records it. Break glass, and a halt the
 * system places, are audited as critical.
 */
export async function placeHalt(
  tx: Tx,
  context: ServiceContext,
  input: { by: string; scope: HaltScope; reason: string; breakGlass?: boolean; incidentId?: string },
): Promise<HaltRow> {
  const row: HaltRow = {
    id: newId(),
    ...haltFields(input.scope),
    reason: input.reason,
    created_by: input.by,
    created_at: context.clock.now().toISOString(),
    lifted_at: null,
    lifted_by: null,
    incident_id: input.incidentId ?? null,
  };
  await insertHalt(tx, row);
  await audit(tx, context, {
    actor: input.by,
    action: 'halt.set',
    subject: `halt:${row.id}`,
    data: {
      scope: row.scope,
      asset: row.asset,
      network: row.network,
      account_id: row.account_id,
      reason: input.reason,
      ...(input.incidentId === undefined ? {} : { incident_id: input.incidentId }),
      ...(input.breakGlass === true ? { break_glass: true, severity: 'critical' } : {}),
      ...(input.by.startsWith('system:') ? { severity: 'critical' } : {}),
    },
  });
  return row;
}

export function parseReason(input: unknown): string {
  if (typeof input !== 'string' || input.length < 3 || input.length > 500)
    throw invalidInput('reason', 'must say why, in 3..500 characters');
  return input;
}

/**
 * Whether one operator alone may lift this halt: only one set by hand outside any incident. The monitor's halts
 * and an incident's are lifted by the two-person resume (services/incidents/resume.ts), an incident's account
 * freeze by `unfreeze`; the database refuses the rest too (migration 0045).
 */
export function liftableAlone(halt: HaltRow): boolean {
  return !halt.created_by.startsWith('system:') && (halt.incident_id ?? null) === null;
}

/** Lifts one active halt set by hand outside an incident (see liftableAlone). */
export async function liftHalt(context: ServiceContext, actor: OperatorActor, id: string) {
  authorize(actor, 'halt.lift');
  const by = actorName(actor);
  return inTransaction(context.database, async (tx) => {
    const halt = await findHalt(tx, id);
    if (halt !== undefined && halt.lifted_at === null && !liftableAlone(halt))
      throw new DomainError(
        'WRONG_STATE',
        halt.incident_id == null
          ? 'the monitor placed this halt: lift it with a two-person resume (drawbridge incident resume request)'
          : 'an incident placed this halt: lift it with a two-person resume (drawbridge incident resume request)',
        { details: { halt_id: id, incident_id: halt.incident_id ?? null, created_by: halt.created_by } },
      );
    if (!(await liftHaltRow(tx, id, by, context.clock.now().toISOString())))
      throw new DomainError('NOT_FOUND', `no active halt ${id}`);
    await audit(tx, context, { actor: by, action: 'halt.lifted', subject: `halt:${id}` });
    return { id, lifted: true };
  });
}

export const HALT_PAGE_MAX = 500;

/** The active halts, oldest first, a page at a time: `starting_after` is the last halt id of the page before. */
export async function listActiveHalts(
  context: ServiceContext,
  actor: OperatorActor,
  input: { limit?: number | string | undefined; starting_after?: string | undefined } = {},
): Promise<{ halts: (HaltRow & { created_by_email: string | null })[]; has_more: boolean }> {
  authorize(actor, 'halt.list');
  const limit = pageLimit(input.limit, { default: 100, max: HALT_PAGE_MAX });
  const db = context.database;
  let after: { createdAt: string; id: string } | undefined;
  if (input.starting_after !== undefined) {
    const last = await findHalt(db, input.starting_after);
    if (last === undefined) throw invalidInput('starting_after', 'is not the id of a halt');
    after = { createdAt: last.created_at, id: last.id };
  }
  const page = await activeHaltsPage(db, limit, after);
  const emailOf = await operatorEmails(
    context,
    page.halts.map((h) => h.created_by),
  );
  return {
    halts: page.halts.map((h) => ({ ...h, created_by_email: emailOf(h.created_by) })),
    has_more: page.hasMore,
  };
}
