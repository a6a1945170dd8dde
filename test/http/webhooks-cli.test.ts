import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealAudit } from '../../src/store/audit/index.ts';
import { cliContext, cliOperator, runCli } from '../support/cli.ts';
import { eachEngine } from '../support/each-engine.ts';
import { freshDatabase } from '../support/engines.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`drawbridge webhook on ${engine}`, () => {
    test('add refuses a host outside WEBHOOK_ALLOWED_HOSTS; add, rotate and disable print JSON and are audited', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const keys = { DRAWBRIDGE_TOTP_KEY: Buffer.alloc(32, 7).toString('base64') };
        const admin = await cliOperator(cliContext(fresh.database, keys), 'admin');
        const env = {
          ...fresh.env,
          ...keys,
          ...admin.env,
          WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com',
          ALLOW_LOOPBACK_WEBHOOKS: 'false',
        };
        const refused = await runCli(
          ['webhook', 'add', '--url', 'http://127.0.0.1:9/x', '--events', '*'],
          env,
        );
        assert.equal(refused.code, 2);
        assert.equal(JSON.parse(refused.stderr.trim()).field, 'url');

        const added = await runCli(
          [
            'webhook',
            'add',
            '--url',
            'https://hooks.example.com/in',
            '--events',
            'account.locked,device.new',
          ],
          env,
        );
        assert.equal(added.code, 0, added.stderr);
        const endpoint = JSON.parse(added.stdout);
        assert.deepEqual(endpoint.events, ['account.locked', 'device.new']);
        assert.match(endpoint.secret, /^whsec_/);

        const rotated = await runCli(['webhook', 'rotate', endpoint.id], env);
        assert.equal(rotated.code, 0, rotated.stderr);
        assert.notEqual(JSON.parse(rotated.stdout).secret, endpoint.secret);

        const disabled = await runCli(['webhook', 'disable', endpoint.id], env);
        assert.equal(disabled.code, 0, disabled.stderr);
        assert.equal(JSON.parse(disabled.stdout).status, 'disabled');

        await sealAudit(fresh.database);
        const actions = await fresh.database.db
          .selectFrom('audit_log')
          .select(['action', 'actor'])
          .where('subject', '=', `webhook:${endpoint.id}`)
          .orderBy('seq')
          .execute();
        assert.deepEqual(
          actions.map((a) => [a.action, a.actor]),
          [
            ['webhook.created', `operator:${admin.id}`],
            ['webhook.secret_rotated', `operator:${admin.id}`],
            ['webhook.disabled', `operator:${admin.id}`],
          ],
        );
      } finally {
        await fresh.drop();
      }
    });
  });
}
