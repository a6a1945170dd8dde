import type { ServiceContext } from '../../src/services/context.ts';
import { liftableAlone, liftHalt } from '../../src/services/halts.ts';
import { approveResume, RESUME_HALTS_MAX, requestResume } from '../../src/services/incidents/halt-resume.ts';
import { openIncident } from '../../src/services/incidents/incidents.ts';
import { seedOperator } from './incidents.ts';

/**
 * Lifts every active halt through the services, as a test that only wants the next case to start clean does: a halt
 * set by hand is lifted by one incident commander; the monitor's and each incident's are lifted by a two-person
 * resume (a request by that commander, the approval of a second one: real operator principals, which the database
 * demands, migration 0045). The monitor's halts are resumed under a clean-up incident.
 */
export async function liftEveryHalt(context: ServiceContext): Promise<void> {
  const active = await context.database.db
    .selectFrom('halts')
    .selectAll()
    .where('lifted_at', 'is', null)
    .execute();
  if (active.length === 0) return;
  const requester = await seedOperator(context, 'incident_commander');
  const approver = await seedOperator(context, 'incident_commander');
  let cleanUp: string | undefined;
  const cleanUpIncident = async (): Promise<string> => {
    cleanUp ??= (await openIncident(context, requester, { title: 'test clean-up', severity: 'low' })).id;
    return cleanUp;
  };
  const byIncident = new Map<string, string[]>();
  for (const halt of active) {
    if (liftableAlone(halt)) {
      await liftHalt(context, requester, halt.id);
      continue;
    }
    const incidentId = halt.incident_id ?? (await cleanUpIncident());
    byIncident.set(incidentId, [...(byIncident.get(incidentId) ?? []), halt.id]);
  }
  for (const [incidentId, haltIds] of byIncident)
    for (let i = 0; i < haltIds.length; i += RESUME_HALTS_MAX) {
      const request = await requestResume(context, requester, incidentId, {
        reason: 'test clean-up',
        halt_ids: haltIds.slice(i, i + RESUME_HALTS_MAX),
      });
      await approveResume(context, approver, incidentId, request.id);
    }
}
