import { invalidInput } from '../../core/errors.ts';
import { isUuid } from '../../core/ids.ts';
import { incidentLosses as countLosses } from '../../core/incidents/losses.ts';
import { lossesView } from '../../core/incidents/losses-view.ts';
import { affectedWithdrawalFacts } from '../../store/incident-losses.ts';
import { findIncident } from '../../store/incidents.ts';
import { inReadSnapshot, type Tx } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { notFoundIncident } from './incidents.ts';

/** An incident id from the edge: a UUID (400 naming `id` otherwise). */
export function incidentIdOf(value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || !isUuid(value)) throw invalidInput(field, 'must be a UUID');
  return value;
}

/** The incident, or 404. */
export async function existingIncident(tx: Tx, incidentId: string) {
  const incident = await findIncident(tx, incidentId);
  if (incident === undefined) throw notFoundIncident(incidentId);
  return incident;
}

/**
 * An incident's losses (any operator role): per asset in base units and exact USD, prevented against lost against in
 * doubt, from one snapshot of its affected withdrawals. Legitimate ones are excluded and counted.
 */
export async function incidentLosses(context: ServiceContext, actor: OperatorActor, id: unknown) {
  authorize(actor, 'incident.read');
  const incidentId = incidentIdOf(id);
  return inReadSnapshot(context.database, async (tx) => {
    await existingIncident(tx, incidentId);
    const facts = await affectedWithdrawalFacts(tx, incidentId);
    return { incident_id: incidentId, ...lossesView(countLosses(facts)) };
  });
}
