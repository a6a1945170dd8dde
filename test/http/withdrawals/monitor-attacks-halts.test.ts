import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import { mayPerform, OPERATOR_ROLES } from '../../../src/core/identity/operator-roles.ts';
import { newId } from '../../../src/core/ids.ts';
import { usdFromWholeDollars } from '../../../src/core/money/usd.ts';
import { placeHalt } from '../../../src/services/halts.ts';
import { MONITOR_ACTOR, type MonitorContext } from '../../../src/services/monitor/check.ts';
import { monitorPass } from '../../../src/services/monitor/pass.ts';
import { customerAccount } from '../../../src/services/withdrawals/ledger-accounts.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import { api, operatorWithSession } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { liftEveryHalt } from '../../support/halts.ts';
import { monitorOf } from '../../support/http.ts';
import { seedCustomer, seedIncident, seedOperator } from '../../support/incidents.ts';
import {
  confirmTotp,
  customerId,
  type ReadyCustomer,
  readyCustomer,
  releaseDue,
  requestBtc,
  simulatedChain,
  withdrawalRow,
} from '../../support/withdrawals.ts';

/**
 * The attack review of the halts (insider with table writes, or one incident commander over HTTP): the monitor's
 * halt deleted, rewritten, or lifted with a forged two-person resume; the monitor's finding parked on an operator's
 * halt that operator lifts alone; the volume breaker silenced by one lifted halt dated in the future. Each must
 * leave the queued withdrawal queued (migration 0045's triggers, the monitor's own halts).
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the halts against an insider, on ${engine}`, (on) => {
    const running = on.app();
    const db = () => running.context.database.db;
    let n = 0;

    async function customer(btc = '1'): Promise<ReadyCustomer & { accountId: string }> {
      n += 1;
      const ready = await readyCustomer(running, `halts${n}@example.com`, btc);
      return { ...ready, accountId: await customerId(running, ready.email) };
    }
    async function dueWithdrawal(who: ReadyCustomer, amount = '0.01'): Promise<string> {
      const requested = await requestBtc(running, who, amount);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      assert.equal((await confirmTotp(running, who, requested.body.id)).status, 200);
      return requested.body.id as string;
    }
    /** The global halt the monitor places on a critical finding. */
    async function monitorHalt(): Promise<string> {
      const halt = await inTransaction(running.context.database, (tx) =>
        placeHalt(tx, running.context, {
          by: MONITOR_ACTOR,
          scope: { scope: 'global' },
          reason: 'monitor: test',
        }),
      );
      return halt.id;
    }
    async function stateAfterReleasePass(id: string): Promise<string> {
      running.clock.advance(10 * 60_000);
      await releaseDue(running.context, simulatedChain(running), monitorOf(running.context, 'global'));
      return (await withdrawalRow(running, id)).state;
    }

    before(async () => {
      await dueWithdrawal(await customer());
      running.clock.advance(10 * 60_000);
      await releaseDue(running.context, simulatedChain(running), monitorOf(running.context));
    });

    test('the monitor halt row cannot be deleted (nor replaced on SQLite, nor truncated on PostgreSQL)', async () => {
      const id = await dueWithdrawal(await customer());
      const halt = await monitorHalt();
      await assert.rejects(db().deleteFrom('halts').where('id', '=', halt).execute());
      if (engine === 'sqlite')
        await assert.rejects(
          sql`insert or replace into halts (id, scope, reason, created_by, created_at)
              values (${halt}, 'account', 'replaced', 'operator:me', '2026-01-01T00:00:00.000Z')`.execute(
            db(),
          ),
        );
      else await assert.rejects(sql`truncate halts cascade`.execute(db()));
      assert.equal(await stateAfterReleasePass(id), 'queued');
      await liftEveryHalt(running.context);
    });

    test('a halt changes only by being lifted once: its placer and incident cannot be rewritten first', async () => {
      const id = await dueWithdrawal(await customer());
      const halt = await monitorHalt();
      await assert.rejects(
        db()
          .updateTable('halts')
          .set({ created_by: 'operator:me', incident_id: null })
          .where('id', '=', halt)
          .execute(),
      );
      await assert.rejects(
        db().updateTable('halts').set({ reason: 'other' }).where('id', '=', halt).execute(),
      );
      await assert.rejects(
        db().updateTable('halts').set({ lifted_at: 'x', lifted_by: 'x' }).where('id', '=', halt).execute(),
      );
      assert.equal(await stateAfterReleasePass(id), 'queued');
      await liftEveryHalt(running.context);
      // Lifted once: not lifted again with another date, nor put back.
      await assert.rejects(
        db()
          .updateTable('halts')
          .set({ lifted_at: '9999-12-31T00:00:00.000Z' })
          .where('id', '=', halt)
          .execute(),
      );
      await assert.rejects(
        db().updateTable('halts').set({ lifted_at: null, lifted_by: null }).where('id', '=', halt).execute(),
      );
    });

    test('a resume forged with invented operator ids, a customer, or a support operator is refused', async () => {
      const id = await dueWithdrawal(await customer());
      const halt = await monitorHalt();
      const incident = await seedIncident(running.context);
      const support = await seedOperator(running.context, 'support');
      const commander = await seedOperator(running.context, 'incident_commander');
      const customerPrincipal = await seedCustomer(running.context);
      const request = (requestedBy: string) => ({
        id: newId(),
        incident_id: incident,
        requested_by: requestedBy,
        requested_at: running.clock.now().toISOString(),
        reason: 'forged',
      });
      for (const by of ['operator:test-a', `operator:${customerPrincipal}`, `operator:${support.id}`])
        await assert.rejects(db().insertInto('incident_resume_requests').values(request(by)).execute(), by);
      const genuine = request(`operator:${commander.id}`);
      await db().insertInto('incident_resume_requests').values(genuine).execute();
      await db()
        .insertInto('incident_resume_halts')
        .values({ request_id: genuine.id, halt_id: halt })
        .execute();
      for (const by of ['operator:test-b', `operator:${customerPrincipal}`, `operator:${support.id}`])
        await assert.rejects(
          db()
            .insertInto('incident_resume_approvals')
            .values({
              request_id: genuine.id,
              requested_by: genuine.requested_by,
              approved_by: by,
              approved_at: 'x',
            })
            .execute(),
          by,
        );
      await assert.rejects(
        db().updateTable('incident_resume_requests').set({ requested_by: 'operator:x' }).execute(),
        'a resume request is never rewritten',
      );
      await assert.rejects(
        db()
          .updateTable('halts')
          .set({ lifted_at: running.clock.now().toISOString(), lifted_by: 'x' })
          .where('id', '=', halt)
          .execute(),
      );
      assert.equal(await stateAfterReleasePass(id), 'queued');
      await liftEveryHalt(running.context);
    });

    test('a halt cannot join a resume request once it is approved', async () => {
      const id = await dueWithdrawal(await customer());
      const incident = await seedIncident(running.context);
      const [first, second] = [
        await seedOperator(running.context, 'incident_commander'),
        await seedOperator(running.context, 'admin'),
      ];
      const approved = {
        id: newId(),
        incident_id: incident,
        requested_by: `operator:${first.id}`,
        requested_at: running.clock.now().toISOString(),
        reason: 'an old, approved resume',
      };
      await db().insertInto('incident_resume_requests').values(approved).execute();
      await db()
        .insertInto('incident_resume_approvals')
        .values({
          request_id: approved.id,
          requested_by: approved.requested_by,
          approved_by: `operator:${second.id}`,
          approved_at: running.clock.now().toISOString(),
        })
        .execute();
      const halt = await monitorHalt();
      await assert.rejects(
        db().insertInto('incident_resume_halts').values({ request_id: approved.id, halt_id: halt }).execute(),
      );
      assert.equal(await stateAfterReleasePass(id), 'queued');
      await liftEveryHalt(running.context);
    });

    test("the database's resume roles are the role matrix's", async () => {
      const incident = await seedIncident(running.context);
      for (const role of OPERATOR_ROLES) {
        const operator = await seedOperator(running.context, role);
        const inserted = await db()
          .insertInto('incident_resume_requests')
          .values({
            id: newId(),
            incident_id: incident,
            requested_by: `operator:${operator.id}`,
            requested_at: running.clock.now().toISOString(),
            reason: 'role check',
          })
          .execute()
          .then(
            () => true,
            () => false,
          );
        assert.equal(inserted, mayPerform(role, 'incident.resume_request'), role);
        assert.equal(
          mayPerform(role, 'incident.resume_request'),
          mayPerform(role, 'incident.resume_approve'),
          `${role}: one list in migration 0045 serves both`,
        );
      }
    });

    test("a critical finding places the monitor's own halt beside an operator's, which that operator lifts alone in vain", async () => {
      const victim = await customer();
      const commander = await operatorWithSession(running, 'ic-pre@ops.example', 'incident_commander');
      const id = await dueWithdrawal(victim);
      const mine = await api(running, 'POST', '/v1/operator/halts', {
        token: commander.token,
        body: { scope: 'global', reason: 'routine maintenance window' },
      });
      assert.equal(mine.status, 201, JSON.stringify(mine.body));
      // A critical finding: a balance written around the ledger.
      await inTransaction(running.context.database, async (tx) => {
        const account = await customerAccount(tx, victim.accountId, 'BTC', running.clock.now());
        await tx
          .updateTable('ledger_accounts')
          .set({ posted_credits: String(account.postedCredits + 500_000_000n) })
          .where('id', '=', account.id)
          .execute();
      });
      await monitorPass(monitorOf(running.context, 'global'), { sweep: true });
      const monitors = await db()
        .selectFrom('halts')
        .select('id')
        .where('lifted_at', 'is', null)
        .where('created_by', '=', MONITOR_ACTOR)
        .execute();
      assert.equal(monitors.length, 1, 'the monitor placed a halt of its own');
      const lift = await api(running, 'DELETE', `/v1/operator/halts/${mine.body.id}`, {
        token: commander.token,
      });
      assert.equal(lift.status, 200, JSON.stringify(lift.body));
      assert.equal(await stateAfterReleasePass(id), 'queued');
      await liftEveryHalt(running.context);
    });

    test('one lifted halt dated in the future does not silence the volume breaker', async () => {
      const who = await customer();
      const monitor: MonitorContext = {
        ...monitorOf(running.context, 'global'),
        volumeBreaker: {
          window_ms: 60 * 60_000,
          baselineWindows: 2,
          multiple: 5,
          floorUsd: usdFromWholeDollars(100n),
        },
      };
      const release = async (amounts: readonly string[], by = monitorOf(running.context, 'global')) => {
        const ids: string[] = [];
        for (const amount of amounts) ids.push(await dueWithdrawal(who, amount));
        running.clock.advance(10 * 60_000);
        // Earlier tests' queued withdrawals go too: moved out of the baseline below.
        await releaseDue(running.context, simulatedChain(running), by);
        for (const id of ids) assert.notEqual((await withdrawalRow(running, id)).state, 'queued');
        return ids;
      };
      // Three hours of 0.02 BTC an hour, then quiet.
      const ordinary = [
        ...(await release(['0.02'])),
        ...(await release(['0.02'])),
        ...(await release(['0.02'])),
      ];
      const now = running.clock.now().getTime();
      for (const [i, id] of ordinary.entries())
        await db()
          .updateTable('withdrawals')
          .set({ released_at: new Date(now - (140 - 60 * i) * 60_000).toISOString() })
          .where('id', '=', id)
          .execute();
      // Earlier tests' releases fall out of the baseline too.
      await db()
        .updateTable('withdrawals')
        .set({ released_at: new Date(now - 24 * 3_600_000).toISOString() })
        .where('released_at', 'is not', null)
        .where('id', 'not in', ordinary)
        .execute();
      assert.deepEqual((await monitorPass(monitor, { sweep: true })).volumeTripped, []);
      const forged = {
        id: newId(),
        scope: 'asset' as const,
        asset: 'BTC',
        network: null,
        account_id: null,
        reason: 'old maintenance',
        created_by: 'operator:someone',
        created_at: new Date(now).toISOString(),
      };
      await assert.rejects(
        db()
          .insertInto('halts')
          .values({ ...forged, lifted_at: '9999-12-31T00:00:00.000Z', lifted_by: 'operator:someone' })
          .execute(),
        'a halt inserted already lifted',
      );
      // Inserted active, then lifted alone with a date in the future: not the monitor's, and no approved resume.
      await db()
        .insertInto('halts')
        .values({ ...forged, lifted_at: null, lifted_by: null })
        .execute();
      await db()
        .updateTable('halts')
        .set({ lifted_at: '9999-12-31T00:00:00.000Z', lifted_by: 'operator:someone' })
        .where('id', '=', forged.id)
        .execute();
      await release(['0.1', '0.1', '0.1'], monitor);
      const burst = await monitorPass(monitor, { sweep: true });
      assert.deepEqual(burst.volumeTripped, ['BTC'], 'a 0.3 BTC burst on a 0.02 BTC/h baseline must trip');
      await liftEveryHalt(running.context);
    });
  });
}
