import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { parseIdField } from '../../core/list-query.ts';
import { getAsset } from '../../core/money/index.ts';
import {
  advanceContainment,
  type ContainmentRow,
  findContainment,
  incidentContainments,
  insertContainment,
  lockCancellable,
  lockContainment,
  nextContainmentBatch,
  runningContainment,
} from '../../store/incident-containment.ts';
import { findIncident } from '../../store/incidents.ts';
import type { ContainmentScope } from '../../store/schema-incidents.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { parseReason } from '../halts.ts';
import { type Actor, actorName, authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { endLockedWithdrawals } from '../withdrawals/cancel.ts';
import { parseAccountIds, requireCustomers } from './accounts-input.ts';
import { incidentAudit, incidentToActOn, notFoundIncident } from './incidents.ts';

/**
 * Contain: cancel every withdrawal not yet released in a scope (all, one asset, a list of accounts), its hold
 * voided through the ordinary cancel path (endWithdrawal). A containment is a job row with a cursor: each batch
 * is one transaction that cancels up to `batch_size` withdrawals after the cursor and moves the cursor past them,
 * so a crash loses at most the batch in flight (rolled back, done again on resume) and nothing is cancelled or
 * voided twice (a cancelled withdrawal is no longer in a cancellable state, and the void has a fixed id).
 * Starting a containment while one runs for the incident resumes that one (same scope) or is refused.
 */

export const CONTAINMENT_BATCH = { default: 200, max: 1000 };
/** At most this many accounts in one containment's list. */
export const CONTAINMENT_ACCOUNTS_MAX = 10_000;

export function viewContainment(row: ContainmentRow) {
  return {
    id: row.id,
    incident_id: row.incident_id,
    scope: row.scope,
    asset: row.asset,
    reason: row.reason,
    status: row.status,
    cancelled: row.cancelled,
    batches: row.batches,
    cursor: row.cursor,
    started_by: row.started_by,
    started_at: row.started_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
  };
}

export type ContainmentView = ReturnType<typeof viewContainment>;

export interface ContainmentInput {
  readonly scope?: unknown;
  readonly asset?: unknown;
  readonly account_ids?: unknown;
  readonly reason?: unknown;
}

function parseScope(input: ContainmentInput): {
  scope: ContainmentScope;
  asset: string | null;
  accountIds: readonly string[];
} {
  if (input.scope === 'all') return { scope: 'all', asset: null, accountIds: [] };
  if (input.scope === 'asset') {
    if (typeof input.asset !== 'string') throw invalidInput('asset', 'is required to contain one asset');
    return { scope: 'asset', asset: getAsset(input.asset).code, accountIds: [] };
  }
  if (input.scope === 'accounts')
    return {
      scope: 'accounts',
      asset: null,
      accountIds: parseAccountIds(input.account_ids, CONTAINMENT_ACCOUNTS_MAX),
    };
  throw invalidInput('scope', 'must be all, asset or accounts');
}

/**
 * Starts a containment for an incident (or resumes the one running, when the scope is the same), cancelling
 * nothing yet: runContainmentBatch does the work.
 */
export async function startContainment(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: ContainmentInput,
): Promise<ContainmentView & { resumed: boolean }> {
  const acting = authorize(operator, 'incident.contain');
  const incidentId = parseIdField('id', incidentIdInput);
  const scope = parseScope(input);
  const reason = parseReason(input.reason);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    await requireCustomers(tx, scope.accountIds);
    const running = await runningContainment(tx, incidentId);
    if (running !== undefined) {
      if (running.scope !== scope.scope || running.asset !== scope.asset || scope.scope === 'accounts')
        throw new DomainError(
          'CONFLICT',
          `containment ${running.id} (${running.scope}) is still running for this incident: resume it first`,
          { field: 'scope', details: { containment_id: running.id } },
        );
      return { ...viewContainment(running), resumed: true };
    }
    const now = context.clock.now().toISOString();
    const row: ContainmentRow = {
      id: newId(),
      incident_id: incidentId,
      scope: scope.scope,
      asset: scope.asset,
      reason,
      status: 'running',
      cursor: null,
      cancelled: 0,
      batches: 0,
      started_by: actor,
      started_at: now,
      updated_at: now,
      finished_at: null,
    };
    await insertContainment(tx, row, scope.accountIds);
    await incidentAudit(tx, context, {
      actor,
      action: 'incident.containment_started',
      incidentId,
      subject: `containment:${row.id}`,
      data: { scope: scope.scope, asset: scope.asset, accounts: scope.accountIds.length, reason },
    });
    return { ...viewContainment(row), resumed: false };
  });
}

export function parseBatchSize(input: unknown): number {
  if (input === undefined) return CONTAINMENT_BATCH.default;
  const n = typeof input === 'string' && /^\d{1,5}$/.test(input) ? Number(input) : input;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > CONTAINMENT_BATCH.max)
    throw invalidInput('batch_size', `must be a whole number 1..${CONTAINMENT_BATCH.max}`);
  return n;
}

/**
 * One batch of a containment, in one transaction: cancels up to `batch_size` withdrawals after the cursor that
 * are still before release (each audited with the incident id, its hold voided), and moves the cursor past them.
 * A job that is done answers as it is.
 */
export async function runContainmentBatch(
  context: ServiceContext,
  operator: Actor,
  containmentIdInput: unknown,
  input: { batch_size?: unknown } = {},
): Promise<ContainmentView> {
  const acting = authorize(operator, 'incident.contain');
  const containmentId = parseIdField('containment_id', containmentIdInput);
  const batchSize = parseBatchSize(input.batch_size);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    const job = await lockContainment(context.database, tx, containmentId);
    if (job === undefined)
      throw new DomainError('NOT_FOUND', `containment ${containmentId} does not exist`, {
        field: 'containment_id',
        details: { id: containmentId },
      });
    if (job.status === 'done') return viewContainment(job);
    await incidentToActOn(context.database, tx, job.incident_id);
    const ids = await nextContainmentBatch(tx, job, batchSize);
    // Released (or cancelled) since the batch was read: past what a cancel can stop, or already stopped.
    const withdrawals = await lockCancellable(context.database, tx, ids);
    await endLockedWithdrawals(tx, context, withdrawals, 'cancelled', actor, job.reason, {
      incident_id: job.incident_id,
      containment_id: job.id,
    });
    const cancelled = withdrawals.length;
    const now = context.clock.now().toISOString();
    const done = ids.length < batchSize;
    await advanceContainment(tx, job.id, { cursor: ids.at(-1) ?? job.cursor, cancelled, done, at: now });
    if (done)
      await incidentAudit(tx, context, {
        actor,
        action: 'incident.containment_done',
        incidentId: job.incident_id,
        subject: `containment:${job.id}`,
        data: { cancelled: job.cancelled + cancelled, batches: job.batches + 1 },
      });
    const after = await findContainment(tx, job.id);
    if (after === undefined) throw new Error('assertion failed: the containment row vanished');
    return viewContainment(after);
  });
}

/**
 * Runs a containment to its end, batch after batch (each its own transaction, as a worker would), telling
 * `onProgress` after each; stops early, still running, once `deadline_ms` (a wall-clock budget) is spent, so
 * an API call answers in bounded time and the caller resumes it.
 */
export async function driveContainment(
  context: ServiceContext,
  operator: Actor,
  containmentId: string,
  options: {
    readonly batchSize?: unknown;
    readonly onProgress?: (view: ContainmentView) => void;
    readonly budgetMs?: number;
    readonly now?: () => number;
  } = {},
): Promise<ContainmentView> {
  const now = options.now ?? (() => performance.now());
  const stopAt = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : now() + options.budgetMs;
  for (;;) {
    const view = await runContainmentBatch(context, operator, containmentId, {
      batch_size: options.batchSize,
    });
    options.onProgress?.(view);
    if (view.status === 'done' || now() >= stopAt) return view;
  }
}

export async function getContainment(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
  containmentIdInput: unknown,
): Promise<ContainmentView> {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  const containmentId = parseIdField('containment_id', containmentIdInput);
  const row = await findContainment(context.database, containmentId);
  if (row === undefined || row.incident_id !== incidentId)
    throw new DomainError('NOT_FOUND', `containment ${containmentId} does not exist`, {
      field: 'containment_id',
      details: { id: containmentId },
    });
  return viewContainment(row);
}

export async function listContainments(
  context: ServiceContext,
  actor: OperatorActor,
  incidentIdInput: unknown,
): Promise<{ containments: ContainmentView[] }> {
  authorize(actor, 'incident.read');
  const incidentId = parseIdField('id', incidentIdInput);
  if ((await findIncident(context.database, incidentId)) === undefined) throw notFoundIncident(incidentId);
  return {
    containments: (await incidentContainments(context.database, incidentId, 100)).map(viewContainment),
  };
}
