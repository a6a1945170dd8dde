import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkAccountId, seedBulkAccounts } from '../../../bench/support-bulk-accounts.ts';
import { newId } from '../../../src/core/ids.ts';
import { api, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { insertAwaitingWithdrawals } from '../../support/in-flight.ts';

/**
 * Affected withdrawals: the monitor's findings since the incident opened are marked unauthorized (an operator's
 * mark is kept), operators mark and reclassify, and each is listed with its outcome read from its state.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`incident affected withdrawals on ${engine}`, (on) => {
    const running = on.app();

    test('mark from monitor findings and by hand; outcome follows the state; affected accounts', async () => {
      const commander = await operatorWithSession(running, 'ic@ops.example', 'incident_commander');
      const analyst = await operatorWithSession(running, 'analyst@ops.example', 'risk_analyst');
      const call = (token: string, method: string, path: string, body?: unknown) =>
        api(running, method, path, { token, ...(body === undefined ? {} : { body }) });
      await seedBulkAccounts(running.context.database, 0, 3, running.clock.now());
      const at = running.clock.now();
      const before = await insertAwaitingWithdrawals(running.context.database, {
        accountId: bulkAccountId(0),
        count: 1,
        at,
      });
      const opened = await call(commander.token, 'POST', '/v1/operator/incidents', {
        title: 'Forged',
        severity: 'critical',
      });
      const id = opened.body.id as string;
      running.clock.advance(1000);
      const a = await insertAwaitingWithdrawals(running.context.database, {
        accountId: bulkAccountId(1),
        count: 2,
        at,
      });
      const b = await insertAwaitingWithdrawals(running.context.database, {
        accountId: bulkAccountId(2),
        count: 1,
        at,
      });
      const finding = (withdrawalId: string, when: Date) => ({
        id: newId(),
        withdrawal_id: withdrawalId,
        check_name: 'proof_recheck',
        severity: 'critical' as const,
        detail: 'the proof does not verify',
        at: when.toISOString(),
      });
      await running.context.database.db
        .insertInto('monitor_findings')
        .values([
          finding(before[0] as string, new Date(at.getTime() - 60_000)),
          ...[...a, ...b].map((w) => finding(w, running.clock.now())),
        ])
        .execute();

      const legit = await call(analyst.token, 'POST', `/v1/operator/incidents/${id}/withdrawals/mark`, {
        withdrawal_ids: [b[0]],
        classification: 'legitimate',
        note: 'the customer confirmed it by phone',
      });
      assert.equal(legit.status, 200, JSON.stringify(legit.body));
      const unknown = await call(analyst.token, 'POST', `/v1/operator/incidents/${id}/withdrawals/mark`, {
        withdrawal_ids: [newId()],
        classification: 'suspect',
      });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.field, '/body/withdrawal_ids/0');
      const badClass = await call(analyst.token, 'POST', `/v1/operator/incidents/${id}/withdrawals/mark`, {
        withdrawal_ids: [b[0]],
        classification: 'maybe',
      });
      assert.equal(badClass.status, 400);

      const fromMonitor = await call(
        analyst.token,
        'POST',
        `/v1/operator/incidents/${id}/withdrawals/mark-from-monitor`,
        {},
      );
      assert.equal(fromMonitor.status, 200, JSON.stringify(fromMonitor.body));
      assert.equal(fromMonitor.body.flagged, 3, 'the finding from before the incident is not its');
      assert.equal(fromMonitor.body.marked, 2, "the operator's mark is kept");
      assert.equal(fromMonitor.body.has_more, false);

      const listed = await call(analyst.token, 'GET', `/v1/operator/incidents/${id}/withdrawals`);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const byId = new Map(
        listed.body.withdrawals.map((w: { withdrawal_id: string }) => [w.withdrawal_id, w]),
      );
      assert.equal(byId.size, 3);
      assert.deepEqual(
        [...a, ...b].map((w) => {
          const row = byId.get(w) as { classification: string; outcome: string; marked_by: string };
          return [row.classification, row.outcome, row.marked_by];
        }),
        [
          ['unauthorized', 'in_flight', 'monitor'],
          ['unauthorized', 'in_flight', 'monitor'],
          ['legitimate', 'in_flight', `operator:${analyst.id}`],
        ],
      );
      const accounts = await call(analyst.token, 'GET', `/v1/operator/incidents/${id}/accounts`);
      assert.deepEqual(accounts.body, {
        accounts: [{ account_id: bulkAccountId(1), withdrawals: 2 }],
        has_more: false,
      });

      const contained = await call(commander.token, 'POST', `/v1/operator/incidents/${id}/containments`, {
        scope: 'accounts',
        account_ids: [bulkAccountId(1)],
        reason: 'stop the forged ones',
      });
      assert.equal(contained.body.cancelled, 2);
      const after = await call(
        analyst.token,
        'GET',
        `/v1/operator/incidents/${id}/withdrawals?classification=unauthorized`,
      );
      assert.deepEqual(
        after.body.withdrawals.map((w: { outcome: string; state: string }) => [w.state, w.outcome]),
        [
          ['cancelled', 'stopped'],
          ['cancelled', 'stopped'],
        ],
      );
      const frozen = await call(commander.token, 'POST', `/v1/operator/incidents/${id}/freeze`, {
        affected: true,
        reason: 'the affected accounts',
      });
      assert.deepEqual(frozen.body, { incident_id: id, frozen: 1, already_frozen: 0 });
    });
  });
}
