import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relayWithdrawalEvents } from '../../src/services/withdrawals/event-relay.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import { auditLevel } from '../../src/workers/domain-log.ts';
import { api } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import { confirmTotp, readyCustomer, requestBtc } from '../support/withdrawals.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the domain log and metrics, on ${engine}`, (on) => {
    const running = on.app();

    test('each sealed audit entry and each withdrawal event is one structured line naming its subject', async () => {
      const customer = await readyCustomer(running, 'logged@example.com');
      const made = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, made.body.id)).status, 200);
      const audited: { action: string; subject: string }[] = [];
      await sealAudit(running.context.database, undefined, (entry) => audited.push(entry));
      assert.ok(
        audited.some(
          (e) => e.action === 'withdrawal.confirmed' && e.subject === `withdrawal:${made.body.id}`,
        ),
      );
      const told: [string, Readonly<Record<string, unknown>>][] = [];
      await relayWithdrawalEvents(running.context, (type, data) => told.push([type, data]));
      const screened = told.find(
        ([type, data]) => type === 'withdrawal.screened' && data.withdrawal_id === made.body.id,
      );
      assert.ok(screened, JSON.stringify(told.map(([type]) => type)));
      assert.equal(screened[1].outcome, 'approve');
      assert.equal(typeof screened[1].account_id, 'string');
      assert.equal(auditLevel('mfa.totp_replay_refused', '{}'), 'warn');
      assert.equal(auditLevel('withdrawal.confirmed', '{}'), 'info');
      assert.equal(auditLevel('halt.set', '{"severity":"critical"}'), 'warn');
    });

    test('/metrics shows open withdrawals by state and age, the outbox, the sealer lag and active halts', async () => {
      const customer = await readyCustomer(running, 'metered@example.com');
      const made = await requestBtc(running, customer, '0.1');
      assert.equal((await confirmTotp(running, customer, made.body.id)).status, 200);
      const text = await (await fetch(`${running.url}/metrics`)).text();
      assert.match(text, /^drawbridge_withdrawals\{state="queued"\} [1-9]/m);
      assert.match(text, /^drawbridge_withdrawals_oldest_age_seconds\{state="queued"\} /m);
      assert.match(text, /^drawbridge_outbox_messages\{channel="email",status="pending"\} [1-9]/m);
      assert.match(text, /^drawbridge_audit_unsealed_entries [0-9]/m);
      assert.match(text, /^drawbridge_audit_sealer_lag_seconds [0-9.]/m);
      assert.match(text, /^drawbridge_active_halts 0/m);
      assert.match(text, /^drawbridge_reimbursements_unpaid\{status="requested"\} 0/m);
      const unused = await api(running, 'GET', '/healthz');
      assert.equal(unused.status, 200);
    });
  });
}
