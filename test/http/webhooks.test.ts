import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { destinationPolicy } from '../../src/adapters/webhooks/destination-policy.ts';
import { enqueueEmail } from '../../src/store/outbox.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import {
  api,
  auditEntries,
  customerWithoutFactors,
  operatorWithSession,
  principalIdOf,
} from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';
import type { RunningApp } from '../support/http.ts';
import { dispatcherFor, outboxRow } from '../workers/outbox-world.ts';

/** The app as `drawbridge serve` builds it, with an allowlist of one outside host plus loopback. */
const WEBHOOK_APP = {
  webhookDestinations: destinationPolicy({ allowedHosts: ['hooks.example.com'], allowLoopback: true }),
};

async function endpointCount(running: RunningApp): Promise<number> {
  const rows = await running.context.database.db.selectFrom('webhook_endpoints').select('id').execute();
  return rows.length;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`webhook registration through the operator API on ${engine}`, (on) => {
    const running = on.app(WEBHOOK_APP);
    let admin: string;
    before(async () => {
      admin = (await operatorWithSession(running, 'admin@drawbridge.test', 'admin')).token;
    });

    test('a webhook URL outside the allowlist is a 400 naming url, and nothing is stored', async () => {
      for (const url of [
        'https://attacker.example.net/hook',
        'http://169.254.169.254/',
        'https://u:p@hooks.example.com/',
      ]) {
        const response = await api(running, 'POST', '/v1/operator/webhooks', {
          token: admin,
          body: { url, events: '*' },
        });
        assert.equal(response.status, 400, url);
        assert.equal(response.body.field, '/url', url);
      }
      assert.equal(await endpointCount(running), 0);
      assert.equal((await auditEntries(running, 'webhook.created')).length, 0);
    });

    test('an admin registers, lists, rotates and disables an endpoint; each change is audited', async () => {
      const created = await api(running, 'POST', '/v1/operator/webhooks', {
        token: admin,
        body: {
          url: 'https://hooks.example.com/drawbridge',
          events: ['withdrawal.released', 'account.locked'],
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.match(created.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      assert.deepEqual(created.body.events, ['account.locked', 'withdrawal.released']);
      const id = created.body.id as string;

      const listed = await api(running, 'GET', '/v1/operator/webhooks', { token: admin });
      assert.equal(listed.status, 200);
      assert.equal(listed.body.endpoints.length, 1);
      assert.equal(JSON.stringify(listed.body).includes('whsec_'), false, 'no secret in a listing');
      const stored = await running.context.database.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.equal(stored.secret_current.includes(created.body.secret.slice(6)), false, 'sealed at rest');

      const rotated = await api(running, 'POST', `/v1/operator/webhooks/${id}/rotate-secret`, {
        token: admin,
      });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.notEqual(rotated.body.secret, created.body.secret);
      const dayLater = new Date(running.clock.now().getTime() + 24 * 60 * 60_000).toISOString();
      assert.equal(rotated.body.previous_secret_valid_until, dayLater);

      const disabled = await api(running, 'POST', `/v1/operator/webhooks/${id}/disable`, { token: admin });
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body.status, 'disabled');
      const again = await api(running, 'POST', `/v1/operator/webhooks/${id}/rotate-secret`, { token: admin });
      assert.equal(again.status, 409);

      for (const action of ['webhook.created', 'webhook.secret_rotated', 'webhook.disabled']) {
        const entries = await auditEntries(running, action);
        assert.equal(entries.length, 1, action);
        assert.equal(entries[0]!.subject, `webhook:${id}`);
      }
    });

    test('bad event lists and unknown ids are refused with the field named', async () => {
      const bad = await api(running, 'POST', '/v1/operator/webhooks', {
        token: admin,
        body: { url: 'https://hooks.example.com/x', events: ['Not An Event'] },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, '/body/events/0', 'a pointer to the entry at fault');
      const missing = await api(
        running,
        'POST',
        '/v1/operator/webhooks/01a21e3d-0000-7000-8000-000000000000/disable',
        { token: admin },
      );
      assert.equal(missing.status, 404);
    });

    test('only admins manage webhooks; customers and other operators are refused', async () => {
      const support = await operatorWithSession(running, 'support@drawbridge.test', 'support');
      const asSupport = await api(running, 'POST', '/v1/operator/webhooks', {
        token: support.token,
        body: { url: 'https://hooks.example.com/x', events: '*' },
      });
      assert.equal(asSupport.status, 403);
      const listAsSupport = await api(running, 'GET', '/v1/operator/webhooks', { token: support.token });
      assert.equal(listAsSupport.status, 403);
      const anonymous = await api(running, 'GET', '/v1/operator/webhooks');
      assert.equal(anonymous.status, 401);
    });

    test('every webhook and preference route is in the OpenAPI document', async () => {
      const document = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      assert.ok(document.paths['/v1/operator/webhooks']?.post);
      assert.ok(document.paths['/v1/operator/webhooks']?.get);
      assert.ok(document.paths['/v1/operator/webhooks/{id}/rotate-secret']?.post);
      assert.ok(document.paths['/v1/operator/webhooks/{id}/disable']?.post);
      assert.ok(document.paths['/v1/operator/webhooks/{id}/deliveries']?.get);
      assert.ok(document.paths['/v1/operator/webhooks/{id}/test']?.post);
      assert.ok(document.paths['/v1/webhook-event-types']?.get);
      assert.ok(document.paths['/v1/account/notification-preferences']?.get);
      assert.ok(document.paths['/v1/account/notification-preferences']?.put);
    });
  });

  describeOn(`notification preferences on ${engine}`, (on) => {
    const running = on.app(WEBHOOK_APP);

    test('a security notification cannot be turned off (400 naming it); an optional one can, and is then held', async () => {
      const token = await customerWithoutFactors(running, 'dana@example.com');
      const initial = await api(running, 'GET', '/v1/account/notification-preferences', { token });
      assert.equal(initial.status, 200);
      assert.ok(initial.body.preferences.every((p: { enabled: boolean }) => p.enabled));

      const refused = await api(running, 'PUT', '/v1/account/notification-preferences', {
        token,
        body: { preferences: [{ event: 'account.locked', enabled: false }] },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.event, 'account.locked');
      assert.match(refused.body.detail, /account\.locked/);

      const changed = await api(running, 'PUT', '/v1/account/notification-preferences', {
        token,
        body: { preferences: [{ event: 'deposit.credited', enabled: false }] },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      const deposit = changed.body.preferences.find((p: { event: string }) => p.event === 'deposit.credited');
      assert.equal(deposit.enabled, false);
      assert.equal((await auditEntries(running, 'notification_preferences.changed')).length, 1);

      // The dispatcher: the muted optional email is held, a security email still goes.
      const accountId = await principalIdOf(running, 'dana@example.com');
      const context = running.context;
      const now = context.clock.now().toISOString();
      const email = { subject: 's', text: 't', html: '<p>h</p>' };
      const [muted, security] = await inTransaction(context.database, async (tx) => [
        await enqueueEmail(tx, {
          recipient: 'dana@example.com',
          accountId,
          event: 'deposit.credited',
          security: false,
          email,
          payload: {},
          now,
        }),
        await enqueueEmail(tx, {
          recipient: 'dana@example.com',
          accountId,
          event: 'account.locked',
          security: true,
          email,
          payload: {},
          now,
        }),
      ]);
      // Even a preference row written behind the service's back cannot silence a security email.
      await context.database.db
        .insertInto('notification_preferences')
        .values({ account_id: accountId, event: 'account.locked', enabled: 0, updated_at: now })
        .execute();
      await context.database.db
        .updateTable('outbox')
        .set({ status: 'delivered' })
        .where('id', 'not in', [muted!.id, security!.id])
        .execute();
      const report = await dispatcherFor(context).runOnce();
      assert.equal(report.held, 1);
      assert.equal(report.delivered, 1);
      assert.equal((await outboxRow(context, muted!.id)).status, 'held');
      assert.equal((await outboxRow(context, security!.id)).status, 'delivered');
    });
  });
}
