import { DomainError, invalidInput } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { parseIdField } from '../../core/list-query.ts';
import { type HaltRow, insertHalts, liftHaltRow } from '../../store/halts.ts';
import { findPrincipal, updatePrincipal } from '../../store/identity/principals.ts';
import {
  activeIncidentAccountHalt,
  frozenByIncident,
  hasWithdrawalAwaitingRelease,
  lockCustomersForIncident,
} from '../../store/incident-halts.ts';
import { affectedAccountIds } from '../../store/incidents.ts';
import { inTransaction } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { ServiceContext } from '../context.ts';
import { parseReason } from '../halts.ts';
import { type Actor, actorName, authorize } from '../identity/acting-operator.ts';
import { notifyPrincipal } from '../notify.ts';
import { parseAccountIds, requireCustomers } from './accounts-input.ts';
import { incidentToActOn } from './incidents.ts';

/**
 * Freezing accounts for an incident: each gets an account halt carrying the incident id (read by every release
 * in its transaction, DESIGN invariant 4) and is locked (every session ends) with no lock email each: a mass
 * freeze must not flood the customers, or the attacker reading their mail, with a notice per account. Each frozen
 * account gets its own audit entry (`incident.account_frozen`, subject the customer), so a customer's history
 * shows it. Unfreezing is one account at a time, with a reason, and tells the customer.
 */

/** At most this many accounts in one freeze (a list, or the incident's affected accounts). */
export const FREEZE_MAX = 10_000;

/**
 * Freezes `account_ids`, or every account the incident affected (`affected: true`). Accounts this incident
 * already froze are left as they are (a retry changes nothing). More affected accounts than FREEZE_MAX is refused
 * rather than freezing part of them.
 */
export async function freezeAccounts(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  input: { account_ids?: unknown; affected?: unknown; reason?: unknown },
): Promise<{ incident_id: string; frozen: number; already_frozen: number }> {
  const acting = authorize(operator, 'incident.contain');
  const incidentId = parseIdField('id', incidentIdInput);
  if ((input.affected === true) === (input.account_ids !== undefined))
    throw invalidInput('account_ids', 'give either a list of account_ids or "affected": true');
  const listed = input.account_ids === undefined ? undefined : parseAccountIds(input.account_ids, FREEZE_MAX);
  const reason = parseReason(input.reason);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    let ids: string[];
    if (listed === undefined) {
      ids = await affectedAccountIds(tx, incidentId, FREEZE_MAX + 1);
      if (ids.length > FREEZE_MAX)
        throw invalidInput(
          'affected',
          `the incident affected more than ${FREEZE_MAX} accounts: freeze them by list`,
        );
    } else {
      ids = listed;
      await requireCustomers(tx, ids);
    }
    const already = new Set<string>();
    for (let i = 0; i < ids.length; i += 500)
      for (const id of await frozenByIncident(tx, incidentId, ids.slice(i, i + 500))) already.add(id);
    const fresh = ids.filter((id) => !already.has(id));
    const now = context.clock.now().toISOString();
    const halts: HaltRow[] = fresh.map((accountId) => ({
      id: newId(),
      scope: 'account',
      asset: null,
      network: null,
      account_id: accountId,
      reason,
      created_by: actor,
      created_at: now,
      lifted_at: null,
      lifted_by: null,
      incident_id: incidentId,
    }));
    await insertHalts(tx, halts);
    await lockCustomersForIncident(tx, fresh, `incident:${incidentId}`, now);
    for (const halt of halts)
      await audit(tx, context, {
        actor,
        action: 'incident.account_frozen',
        subject: `customer:${halt.account_id}`,
        data: { incident_id: incidentId, halt_id: halt.id, reason },
      });
    return { incident_id: incidentId, frozen: fresh.length, already_frozen: already.size };
  });
}

/**
 * Unfreezes one account the incident froze, with a reason: lifts its account halt and the incident's lock (not a
 * lock of the customer's own), and tells the customer. Refused (409) while the account has a withdrawal that could
 * still be released: contain it first, or lift the freeze with a two-person resume (the database refuses it too).
 */
export async function unfreezeAccount(
  context: ServiceContext,
  operator: Actor,
  incidentIdInput: unknown,
  accountIdInput: unknown,
  input: { reason?: unknown },
): Promise<{ incident_id: string; account_id: string; unfrozen: true; unlocked: boolean }> {
  const acting = authorize(operator, 'incident.contain');
  const incidentId = parseIdField('id', incidentIdInput);
  const accountId = parseIdField('account_id', accountIdInput);
  const reason = parseReason(input.reason);
  const actor = actorName(acting);
  return inTransaction(context.database, async (tx) => {
    await incidentToActOn(context.database, tx, incidentId);
    const halt = await activeIncidentAccountHalt(tx, incidentId, accountId);
    if (halt === undefined)
      throw new DomainError('NOT_FOUND', `account ${accountId} is not frozen by this incident`, {
        field: 'account_id',
        details: { id: accountId },
      });
    if (await hasWithdrawalAwaitingRelease(tx, accountId))
      throw new DomainError(
        'WRONG_STATE',
        'the account has a withdrawal that could still be released: contain it first, or resume with two operators',
        { field: 'account_id', details: { account_id: accountId } },
      );
    const now = context.clock.now().toISOString();
    if (!(await liftHaltRow(tx, halt.id, actor, now)))
      throw new DomainError('WRONG_STATE', 'the freeze was lifted meanwhile', { field: 'account_id' });
    const principal = await findPrincipal(tx, accountId);
    const unlocked = principal?.locked_reason === `incident:${incidentId}`;
    if (principal !== undefined && unlocked)
      await updatePrincipal(tx, accountId, { locked_at: null, locked_reason: null });
    await audit(tx, context, {
      actor,
      action: 'incident.account_unfrozen',
      subject: `customer:${accountId}`,
      data: { incident_id: incidentId, halt_id: halt.id, reason, unlocked },
    });
    if (principal !== undefined)
      await notifyPrincipal(tx, context, principal, {
        event: 'account.unlocked',
        headline: 'Your account is open again',
        lines: [
          'Withdrawals were stopped on your account during a security incident; they are allowed again.',
        ],
      });
    return { incident_id: incidentId, account_id: accountId, unfrozen: true, unlocked };
  });
}
