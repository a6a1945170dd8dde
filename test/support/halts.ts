import { newId } from '../../src/core/ids.ts';
import type { Database } from '../../src/store/database.ts';
import { inTransaction } from '../../src/store/transaction.ts';

/**
 * Lifts every active halt below the services, as a test that only wants the next case to start clean does. The
 * monitor's and an incident's halts are lifted only with an approved two-person resume (migration 0045's trigger),
 * so this writes one first: an incident, a request by one test operator and the approval of another.
 */
export async function liftEveryHalt(database: Database, at: Date): Promise<void> {
  const now = at.toISOString();
  await inTransaction(database, async (tx) => {
    const active = await tx.selectFrom('halts').select('id').where('lifted_at', 'is', null).execute();
    if (active.length === 0) return;
    const incidentId = newId();
    const requestId = newId();
    await tx
      .insertInto('incidents')
      .values({
        id: incidentId,
        title: 'test clean-up',
        severity: 'low',
        status: 'open',
        alert_id: null,
        opened_by: 'operator:test-a',
        opened_at: now,
        updated_at: now,
        closed_by: null,
        closed_at: null,
      })
      .execute();
    await tx
      .insertInto('incident_resume_requests')
      .values({
        id: requestId,
        incident_id: incidentId,
        requested_by: 'operator:test-a',
        requested_at: now,
        reason: 'test clean-up',
      })
      .execute();
    await tx
      .insertInto('incident_resume_halts')
      .values(active.map((h) => ({ request_id: requestId, halt_id: h.id })))
      .execute();
    await tx
      .insertInto('incident_resume_approvals')
      .values({
        request_id: requestId,
        requested_by: 'operator:test-a',
        approved_by: 'operator:test-b',
        approved_at: now,
      })
      .execute();
    await tx
      .updateTable('halts')
      .set({ lifted_at: now, lifted_by: 'test' })
      .where('lifted_at', 'is', null)
      .execute();
  });
}
