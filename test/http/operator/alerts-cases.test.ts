import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { destinationPolicy } from '../../../src/adapters/webhooks/destination-policy.ts';
import { raiseAlert } from '../../../src/services/alerts.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import {
  api,
  auditEntries,
  forgetRateLimits,
  mailbox,
  operatorWithSession,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { BTC_ADDRESS, readyCustomer, requestBtc } from '../../support/withdrawals.ts';

let made = 0;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`alerts and cases, on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app({
      webhookDestinations: destinationPolicy({ allowedHosts: ['hooks.example.com'], allowLoopback: true }),
    });

    const raise = (input: Parameters<typeof raiseAlert>[2]) =>
      inTransaction(running.context.database, (tx) => raiseAlert(tx, running.context, input));

    async function operator(role: 'support' | 'risk_analyst' | 'incident_commander' | 'admin') {
      made += 1;
      return operatorWithSession(running, `alerts-${role}-${made}@ops.example`, role);
    }

    test('raising the same kind and fingerprint twice is one alert with two occurrences; the database refuses a second unresolved row', async () => {
      const first = await raise({
        kind: 'monitor.lag',
        severity: 'warning',
        fingerprint: 'lag:releaser',
        title: 'The monitor is behind',
        details: { seconds: 42 },
      });
      assert.equal(first.created, true);
      const opened = running.clock.now().toISOString();
      running.clock.advance(60_000);
      const second = await raise({
        kind: 'monitor.lag',
        severity: 'warning',
        fingerprint: 'lag:releaser',
        title: 'The monitor is behind',
      });
      assert.deepEqual(second, { id: first.id, created: false });
      const rows = await fresh.database.db
        .selectFrom('alerts')
        .selectAll()
        .where('kind', '=', 'monitor.lag')
        .execute();
      assert.equal(rows.length, 1);
      const row = rows[0];
      assert.ok(row);
      assert.equal(Number(row.occurrences), 2);
      assert.equal(row.opened_at, opened);
      assert.equal(row.last_seen_at, running.clock.now().toISOString());
      assert.deepEqual(JSON.parse(row.details), { seconds: 42 });
      await assert.rejects(
        fresh.database.db
          .insertInto('alerts')
          .values({ ...row, id: '01a23ab8-0000-7000-8000-00000000a001', occurrences: 1 })
          .execute(),
        /unique|duplicate/i,
      );
      await assert.rejects(
        raise({ kind: 'Bad Kind', severity: 'info', fingerprint: 'x', title: 'x' }),
        (error: { field?: string }) => error.field === 'kind',
      );
      await assert.rejects(
        raise({ kind: 'ok', severity: 'loud' as 'info', fingerprint: 'x', title: 'x' }),
        (error: { field?: string }) => error.field === 'severity',
      );
    });

    test('open -> acknowledged -> resolved, with refusals naming the field or the state; raising after resolution opens a new alert', async () => {
      const { id } = await raise({
        kind: 'monitor.proof_mismatch',
        severity: 'warning',
        fingerprint: 'withdrawal:w1',
        title: 'Proof does not verify',
        subject: 'withdrawal:w1',
      });
      const analyst = await operator('risk_analyst');
      const support = await operator('support');
      const path = (what: string) => `/v1/operator/alerts/${id}/${what}`;

      const listed = await api(running, 'GET', '/v1/operator/alerts?state=open&kind=monitor.proof_mismatch', {
        token: support.token,
      });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(
        listed.body.alerts.map((a: { id: string }) => a.id),
        [id],
      );
      const none = await api(
        running,
        'GET',
        '/v1/operator/alerts?severity=critical&kind=monitor.proof_mismatch',
        {
          token: support.token,
        },
      );
      assert.deepEqual(none.body.alerts, []);
      const badFilter = await api(running, 'GET', '/v1/operator/alerts?state=closed', {
        token: support.token,
      });
      assert.equal(badFilter.status, 400);
      assert.equal(badFilter.body.field, '/query/state');

      const supportAck = await api(running, 'POST', path('acknowledge'), { token: support.token });
      assert.equal(supportAck.status, 403);
      const early = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { kind: 'benign', note: 'nothing to see' },
      });
      assert.equal(early.status, 409, JSON.stringify(early.body));
      assert.equal(early.body.code, 'WRONG_STATE');
      assert.equal(early.body.state, 'open');

      const acked = await api(running, 'POST', path('acknowledge'), { token: analyst.token });
      assert.equal(acked.status, 200, JSON.stringify(acked.body));
      assert.equal(acked.body.state, 'acknowledged');
      assert.equal(acked.body.acknowledged_by, `operator:${analyst.id}`);
      const twice = await api(running, 'POST', path('acknowledge'), { token: analyst.token });
      assert.equal(twice.status, 409);

      const noKind = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { note: 'forgot the kind' },
      });
      assert.equal(noKind.status, 400, JSON.stringify(noKind.body));
      assert.equal(noKind.body.field, '/body/kind');
      const longNote = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { kind: 'benign', note: 'x'.repeat(2001) },
      });
      assert.equal(longNote.status, 400);
      assert.equal(longNote.body.field, '/body/note');
      const badKind = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { kind: 'maybe', note: 'not sure' },
      });
      assert.equal(badKind.status, 400);
      assert.equal(badKind.body.field, '/body/kind');

      const resolved = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { kind: 'false_positive', note: 'a re-signed attestation, checked by hand' },
      });
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.equal(resolved.body.state, 'resolved');
      assert.equal(resolved.body.resolution_kind, 'false_positive');
      const again = await api(running, 'POST', path('resolve'), {
        token: analyst.token,
        body: { kind: 'benign', note: 'again' },
      });
      assert.equal(again.status, 409);
      const ackResolved = await api(running, 'POST', path('acknowledge'), { token: analyst.token });
      assert.equal(ackResolved.status, 409);
      assert.equal(ackResolved.body.state, 'resolved');

      const reopened = await raise({
        kind: 'monitor.proof_mismatch',
        severity: 'warning',
        fingerprint: 'withdrawal:w1',
        title: 'Proof does not verify',
      });
      assert.equal(reopened.created, true);
      assert.notEqual(reopened.id, id);

      const unknown = await api(running, 'GET', '/v1/operator/alerts/01a23ab8-0000-7000-8000-0000000000ff', {
        token: support.token,
      });
      assert.equal(unknown.status, 404);
      const badId = await api(running, 'GET', '/v1/operator/alerts/nope', { token: support.token });
      assert.equal(badId.status, 400);
      assert.equal(badId.body.field, '/params/id');
      const actions = (await auditEntries(running, 'alert.resolved')).filter(
        (e) => e.subject === `alert:${id}`,
      );
      assert.equal(actions.length, 1);
    });

    test('a new critical alert pages on-call operators: an alert.raised webhook event and an email to each incident commander and admin', async () => {
      const admin = await operator('admin');
      const commander = await operator('incident_commander');
      const analyst = await operator('risk_analyst');
      const hook = await api(running, 'POST', '/v1/operator/webhooks', {
        token: admin.token,
        body: { url: 'https://hooks.example.com/alerts', events: ['alert.raised'] },
      });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const webhooks = () =>
        fresh.database.db
          .selectFrom('outbox')
          .selectAll()
          .where('channel', '=', 'webhook')
          .where('event', '=', 'alert.raised')
          .execute();

      await raise({
        kind: 'monitor.lag',
        severity: 'warning',
        fingerprint: 'not-critical',
        title: 'Just behind',
      });
      assert.equal((await webhooks()).length, 0, 'a warning pages nobody');

      const { id } = await raise({
        kind: 'monitor.release_without_attestation',
        severity: 'critical',
        fingerprint: 'withdrawal:w2',
        title: 'A withdrawal was released without an attestation',
        subject: 'withdrawal:w2',
      });
      const sent = await webhooks();
      assert.equal(sent.length, 1);
      const body = JSON.parse(sent[0]?.payload ?? '{}');
      assert.equal(body.type, 'alert.raised');
      assert.equal(body.data.alert_id, id);
      assert.equal(body.data.severity, 'critical');
      for (const paged of [admin, commander]) {
        const messages = await mailbox(running, paged.email);
        const page = messages.find((m) => m.event === 'alert.raised');
        assert.ok(page, `${paged.email} is paged`);
        assert.match(JSON.stringify(page), new RegExp(id));
      }
      assert.equal(
        (await mailbox(running, analyst.email)).some((m) => m.event === 'alert.raised'),
        false,
        'a risk analyst is not on call',
      );
      // Raised again while open: deduplicated, nobody is paged twice.
      await raise({
        kind: 'monitor.release_without_attestation',
        severity: 'critical',
        fingerprint: 'withdrawal:w2',
        title: 'A withdrawal was released without an attestation',
      });
      assert.equal((await webhooks()).length, 1);
      assert.equal((await mailbox(running, admin.email)).filter((m) => m.event === 'alert.raised').length, 1);

      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      assert.match(
        metrics,
        /drawbridge_open_alerts\{state="open",severity="critical",kind="monitor.release_without_attestation"\} 1/,
      );
      assert.match(
        metrics,
        /drawbridge_alerts_raised_total\{severity="critical",kind="monitor.release_without_attestation"\} 1/,
      );
    });

    test('cases: open, link an alert and a withdrawal once each, note, investigate, close; bad input and wrong moves are 4xx', async () => {
      // A withdrawal to link (requested is enough); made first: readyCustomer moves the clock by a day.
      await forgetRateLimits(running);
      const customer = await readyCustomer(running, `case-${++made}@example.com`);
      const requested = await requestBtc(running, customer, '0.01');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const withdrawalId = requested.body.id as string;
      const analyst = await operator('risk_analyst');
      const support = await operator('support');
      const { id: alertId } = await raise({
        kind: 'rule.many_accounts_one_destination',
        severity: 'warning',
        fingerprint: `destination:${BTC_ADDRESS}`,
        title: 'Many accounts pay one address',
      });

      const refused = await api(running, 'POST', '/v1/operator/cases', {
        token: support.token,
        body: { title: 'Support may not open cases' },
      });
      assert.equal(refused.status, 403);
      const short = await api(running, 'POST', '/v1/operator/cases', {
        token: analyst.token,
        body: { title: 'x' },
      });
      assert.equal(short.status, 400);
      assert.equal(short.body.field, '/body/title');

      const opened = await api(running, 'POST', '/v1/operator/cases', {
        token: analyst.token,
        body: { title: 'Withdrawals to one address from many accounts' },
      });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      const id = opened.body.id as string;
      const at = (what: string) => `/v1/operator/cases/${id}/${what}`;

      const linked = await api(running, 'POST', at('links'), {
        token: analyst.token,
        body: { alert_id: alertId },
      });
      assert.equal(linked.status, 200, JSON.stringify(linked.body));
      assert.deepEqual(linked.body.alert_ids, [alertId]);
      const twice = await api(running, 'POST', at('links'), {
        token: analyst.token,
        body: { alert_id: alertId },
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 'ALREADY_EXISTS');
      const both = await api(running, 'POST', at('links'), {
        token: analyst.token,
        body: { alert_id: alertId, withdrawal_id: withdrawalId },
      });
      assert.equal(both.status, 400);
      const missing = await api(running, 'POST', at('links'), {
        token: analyst.token,
        body: { withdrawal_id: '01a23ab8-0000-7000-8000-0000000000ff' },
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.field, '/body/withdrawal_id');
      const withWithdrawal = await api(running, 'POST', at('links'), {
        token: analyst.token,
        body: { withdrawal_id: withdrawalId },
      });
      assert.equal(withWithdrawal.status, 200, JSON.stringify(withWithdrawal.body));
      assert.deepEqual(withWithdrawal.body.withdrawal_ids, [withdrawalId]);

      const long = await api(running, 'POST', at('notes'), {
        token: analyst.token,
        body: { note: 'x'.repeat(2001) },
      });
      assert.equal(long.status, 400);
      assert.equal(long.body.field, '/body/note');
      const noted = await api(running, 'POST', at('notes'), {
        token: analyst.token,
        body: { note: 'all accounts logged in from one IP range' },
      });
      assert.equal(noted.status, 200);

      const back = await api(running, 'POST', at('status'), {
        token: analyst.token,
        body: { status: 'open' },
      });
      assert.equal(back.status, 400);
      assert.equal(back.body.field, '/body/status');
      const investigating = await api(running, 'POST', at('status'), {
        token: analyst.token,
        body: { status: 'investigating' },
      });
      assert.equal(investigating.status, 200, JSON.stringify(investigating.body));
      const again = await api(running, 'POST', at('status'), {
        token: analyst.token,
        body: { status: 'investigating' },
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.case_status, 'investigating');
      const closeNoNote = await api(running, 'POST', at('close'), { token: analyst.token, body: {} });
      assert.equal(closeNoNote.status, 400);
      assert.equal(closeNoNote.body.field, '/body/note');
      const closed = await api(running, 'POST', at('close'), {
        token: analyst.token,
        body: { note: 'confirmed phishing; customers told' },
      });
      assert.equal(closed.status, 200, JSON.stringify(closed.body));
      assert.equal(closed.body.status, 'closed');
      const late = await api(running, 'POST', at('notes'), {
        token: analyst.token,
        body: { note: 'too late now' },
      });
      assert.equal(late.status, 409);
      const reclose = await api(running, 'POST', at('close'), {
        token: analyst.token,
        body: { note: 'again!' },
      });
      assert.equal(reclose.status, 409);

      const shown = await api(running, 'GET', `/v1/operator/cases/${id}`, { token: support.token });
      assert.equal(shown.status, 200);
      assert.deepEqual(
        shown.body.events.map((e: { kind: string }) => e.kind),
        ['opened', 'alert_linked', 'withdrawal_linked', 'note', 'status_changed', 'status_changed'],
      );
      assert.equal(shown.body.events.at(-1).to_status, 'closed');
      const listed = await api(running, 'GET', '/v1/operator/cases?status=closed', { token: support.token });
      assert.ok(listed.body.cases.some((c: { id: string }) => c.id === id));
      const unknown = await api(running, 'GET', '/v1/operator/cases/01a23ab8-0000-7000-8000-0000000000ff', {
        token: support.token,
      });
      assert.equal(unknown.status, 404);
      assert.equal((await auditEntries(running, 'case.alert_linked')).length >= 1, true);
    });

    test('case events are append-only: UPDATE and DELETE are refused by the database, even as raw SQL', async () => {
      const analyst = await operator('incident_commander');
      const opened = await api(running, 'POST', '/v1/operator/cases', {
        token: analyst.token,
        body: { title: 'Append-only check', note: 'first words' },
      });
      assert.equal(opened.status, 201);
      const id = opened.body.id as string;
      const db = fresh.database.db;
      await assert.rejects(
        sql`update case_events set note = 'rewritten' where case_id = ${id}`.execute(db),
        /append-only/,
      );
      await assert.rejects(sql`delete from case_events where case_id = ${id}`.execute(db), /append-only/);
      await assert.rejects(sql`delete from case_events`.execute(db), /append-only/);
      if (engine === 'postgres') {
        await assert.rejects(sql`truncate case_events cascade`.execute(db), /append-only/);
      } else {
        const event = await db
          .selectFrom('case_events')
          .selectAll()
          .where('case_id', '=', id)
          .executeTakeFirstOrThrow();
        await assert.rejects(
          sql`insert or replace into case_events (id, case_id, at, actor, kind, note)
              values (${event.id}, ${id}, ${event.at}, 'someone', 'note', 'replaced')`.execute(db),
          /append-only/,
        );
      }
      const events = await db.selectFrom('case_events').selectAll().where('case_id', '=', id).execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]?.note, 'first words');
    });
  });
}
