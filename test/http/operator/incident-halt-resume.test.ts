import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import { newId } from '../../../src/core/ids.ts';
import { raiseAlert } from '../../../src/services/alerts.ts';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { api, type Operator, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

/**
 * An incident from open to resume: halting is immediate, lifting is two operators (the service and the database
 * both refuse one operator, or a forged approval), the downtime is measured from the halt records, and the
 * timeline tells it in order.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`incident halt and two-person resume on ${engine}`, (on) => {
    const running = on.app();
    let first: Operator;
    let second: Operator;
    let support: Operator;

    before(async () => {
      first = await operatorWithSession(running, 'ic-one@ops.example', 'incident_commander');
      second = await operatorWithSession(running, 'ic-two@ops.example', 'incident_commander');
      support = await operatorWithSession(running, 'support@ops.example', 'support');
    });

    const call = (
      who: Operator,
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) =>
      api(running, method, path, {
        token: who.token,
        ...(body === undefined ? {} : { body }),
        ...(headers ? { headers } : {}),
      });

    test('open from an alert, halt, one operator cannot lift, two can; downtime and timeline', async () => {
      const alert = await inTransaction(running.context.database, (tx) =>
        raiseAlert(tx, running.context, {
          kind: 'monitor.proof_mismatch',
          severity: 'critical',
          fingerprint: 'withdrawal:x',
          title: 'Released without a valid proof',
          details: {},
        }),
      );
      const bad = await call(first, 'POST', '/v1/operator/incidents', {
        title: 'Bypass',
        severity: 'extreme',
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, '/body/severity');
      const unknownAlert = await call(first, 'POST', '/v1/operator/incidents', {
        title: 'Bypass',
        severity: 'critical',
        alert_id: newId(),
      });
      assert.equal(unknownAlert.status, 404, JSON.stringify(unknownAlert.body));

      const key = { 'idempotency-key': 'open-incident-1' };
      const body = { title: 'Withdrawals approved without 2FA', severity: 'critical', alert_id: alert.id };
      const opened = await call(first, 'POST', '/v1/operator/incidents', body, key);
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      const again = await call(first, 'POST', '/v1/operator/incidents', body, key);
      assert.equal(again.status, 201);
      assert.equal(again.body.id, opened.body.id, 'a retry with the same Idempotency-Key opens nothing new');
      const id = opened.body.id as string;
      assert.equal(opened.body.alert_id, alert.id);

      const supportHalt = await call(support, 'POST', `/v1/operator/incidents/${id}/halts`, {
        scope: 'global',
        reason: 'stop everything',
      });
      assert.equal(supportHalt.status, 403, 'support cannot halt');
      const halted = await call(first, 'POST', `/v1/operator/incidents/${id}/halts`, {
        scope: 'global',
        reason: 'stop everything',
      });
      assert.equal(halted.status, 201, JSON.stringify(halted.body));
      assert.equal(halted.body.incident_id, id);
      const haltId = halted.body.id as string;

      const liftAlone = await call(first, 'DELETE', `/v1/operator/halts/${haltId}`);
      assert.equal(
        liftAlone.status,
        409,
        `the single-operator lift is refused: ${JSON.stringify(liftAlone.body)}`,
      );

      running.clock.advance(10 * 60_000);
      const noReason = await call(first, 'POST', `/v1/operator/incidents/${id}/resume-requests`, {});
      assert.equal(noReason.status, 400);
      const requested = await call(first, 'POST', `/v1/operator/incidents/${id}/resume-requests`, {
        reason: 'bypass closed, custody verifier in place',
      });
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.deepEqual(requested.body.halt_ids, [haltId]);
      const requestId = requested.body.id as string;

      const self = await call(
        first,
        'POST',
        `/v1/operator/incidents/${id}/resume-requests/${requestId}/approve`,
      );
      assert.equal(self.status, 409, JSON.stringify(self.body));
      assert.equal(self.body.code, 'SAME_OPERATOR');
      const bySupport = await call(
        support,
        'POST',
        `/v1/operator/incidents/${id}/resume-requests/${requestId}/approve`,
      );
      assert.equal(bySupport.status, 403);

      // Below the services: the database refuses the lift without an approval, and an approval by the requester.
      const db = running.context.database.db;
      await assert.rejects(
        db
          .updateTable('halts')
          .set({ lifted_at: running.clock.now().toISOString(), lifted_by: 'x' })
          .where('id', '=', haltId)
          .execute(),
      );
      await assert.rejects(
        db
          .insertInto('incident_resume_approvals')
          .values({
            request_id: requestId,
            requested_by: `operator:${first.id}`,
            approved_by: `operator:${first.id}`,
            approved_at: 'x',
          })
          .execute(),
        'approver = requester is refused by the CHECK',
      );
      await assert.rejects(
        db
          .insertInto('incident_resume_approvals')
          .values({
            request_id: requestId,
            requested_by: 'operator:someone-else',
            approved_by: `operator:${first.id}`,
            approved_at: 'x',
          })
          .execute(),
        'an approval naming another requester is refused by the trigger',
      );
      const stillActive = await db
        .selectFrom('halts')
        .select('lifted_at')
        .where('id', '=', haltId)
        .executeTakeFirstOrThrow();
      assert.equal(stillActive.lifted_at, null);

      running.clock.advance(10 * 60_000);
      const approved = await call(
        second,
        'POST',
        `/v1/operator/incidents/${id}/resume-requests/${requestId}/approve`,
      );
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.lifted, 1);
      assert.equal(approved.body.approved_by, `operator:${second.id}`);
      const twice = await call(
        second,
        'POST',
        `/v1/operator/incidents/${id}/resume-requests/${requestId}/approve`,
      );
      assert.equal(twice.status, 409);

      const downtime = await call(support, 'GET', `/v1/operator/incidents/${id}/downtime`);
      assert.equal(downtime.status, 200, JSON.stringify(downtime.body));
      assert.equal(downtime.body.downtime_ms, 20 * 60_000, 'set -> lifted, from the halt records');
      assert.equal(downtime.body.global_downtime_ms, 20 * 60_000);
      assert.equal(downtime.body.active, 0);
      assert.equal(downtime.body.resume_requests[0].status, 'approved');
      // Who asked and who approved, by email for people (the ids stay in requested_by / approved_by).
      assert.equal(downtime.body.resume_requests[0].requested_by_email, 'ic-one@ops.example');
      assert.equal(downtime.body.resume_requests[0].approved_by_email, 'ic-two@ops.example');
      const read = await call(support, 'GET', `/v1/operator/incidents/${id}`);
      assert.equal(read.body.opened_by_email, 'ic-one@ops.example');

      await sealAudit(running.context.database);
      const timeline = await call(support, 'GET', `/v1/operator/incidents/${id}/timeline`);
      assert.equal(timeline.status, 200, JSON.stringify(timeline.body));
      const actions = (timeline.body.entries as { action: string; kind: string }[]).map((e) => e.action);
      assert.deepEqual(actions, [
        'monitor.proof_mismatch',
        'incident.opened',
        'halt.set',
        'incident.resume_requested',
        // The same instant: the approval's entry, then the lift it made (ties go by key).
        'incident.resumed',
        'halt.lifted',
      ]);
      const emails = (timeline.body.entries as { actor: string; actor_email: string | null }[]).map(
        (e) => e.actor_email,
      );
      assert.deepEqual(emails, [
        null, // the alerts system is no operator
        'ic-one@ops.example',
        'ic-one@ops.example',
        'ic-one@ops.example',
        'ic-two@ops.example',
        'ic-two@ops.example',
      ]);
      const paged = await call(support, 'GET', `/v1/operator/incidents/${id}/timeline?limit=2`);
      assert.equal(paged.body.entries.length, 2);
      assert.equal(paged.body.has_more, true);
      const rest = await call(
        support,
        'GET',
        `/v1/operator/incidents/${id}/timeline?limit=10&starting_after=${encodeURIComponent(paged.body.cursor)}`,
      );
      assert.deepEqual(
        [...paged.body.entries, ...rest.body.entries].map((e: { action: string }) => e.action),
        actions,
      );
      assert.equal(rest.body.has_more, false);

      const audited = await sql<{
        n: number | string;
      }>`select count(*) as n from audit_log where action = 'incident.resumed'`.execute(db);
      assert.equal(Number(audited.rows[0]?.n), 1);
    });

    test("the monitor's halt is lifted only by a two-person resume; unknown and malformed ids are refused", async () => {
      const monitorHalt = await inTransaction(running.context.database, async (tx) => {
        const { placeHalt } = await import('../../../src/services/halts.ts');
        return placeHalt(tx, running.context, {
          by: 'system:monitor',
          scope: { scope: 'global' },
          reason: 'critical finding',
        });
      });
      const alone = await call(first, 'DELETE', `/v1/operator/halts/${monitorHalt.id}`);
      assert.equal(alone.status, 409);
      const opened = await call(first, 'POST', '/v1/operator/incidents', {
        title: 'Monitor tripped',
        severity: 'high',
      });
      const id = opened.body.id as string;
      const nothing = await call(first, 'POST', `/v1/operator/incidents/${id}/resume-requests`, {
        reason: 'all clear',
      });
      assert.equal(nothing.status, 409, 'the incident placed no halt of its own');
      const malformed = await call(first, 'POST', `/v1/operator/incidents/${id}/resume-requests`, {
        reason: 'all clear',
        halt_ids: ['not-an-id'],
      });
      assert.equal(malformed.status, 400);
      const requested = await call(first, 'POST', `/v1/operator/incidents/${id}/resume-requests`, {
        reason: 'all clear',
        halt_ids: [monitorHalt.id],
      });
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const approved = await call(
        second,
        'POST',
        `/v1/operator/incidents/${id}/resume-requests/${requested.body.id}/approve`,
      );
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.lifted, 1);
      const unknown = await call(first, 'GET', `/v1/operator/incidents/${newId()}`);
      assert.equal(unknown.status, 404);
    });
  });
}
