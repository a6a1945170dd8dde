import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  customerWithTotp,
  freshRateWindows,
  login,
  mailbox,
  nextTotp,
  principalRow,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`MFA policy and anti-phishing code on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    async function settingRows(email: string, setting: string) {
      const principal = await principalRow(running, email);
      return running.context.database.db
        .selectFrom('security_settings_history')
        .select(['value', 'effective_at'])
        .where('principal_id', '=', principal.id)
        .where('setting', '=', setting)
        .orderBy('effective_at')
        .orderBy('id')
        .execute();
    }

    test('withdrawal and address_book cannot be made optional', async () => {
      const customer = await customerWithTotp(running, 'always-required@example.com');
      const proof = await stepUpToken(running, customer, 'mfa.policy');
      for (const action of ['withdrawal', 'address_book']) {
        const refused = await api(running, 'PUT', '/v1/account/mfa-policy', {
          token: customer.token,
          body: { action, required: false, step_up_token: proof },
        });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body.field, '/body/required');
        assert.equal((await settingRows(customer.email, `mfa_policy:${action}`)).length, 1);
      }
      const policy = await api(running, 'GET', '/v1/account/mfa-policy', { token: customer.token });
      assert.deepEqual(
        { withdrawal: policy.body.policy.withdrawal, address_book: policy.body.policy.address_book },
        {
          withdrawal: { required: true, changeable: false, since: policy.body.policy.withdrawal.since },
          address_book: { required: true, changeable: false, since: policy.body.policy.address_book.since },
        },
      );
      const unknown = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: { action: 'everything', required: false, step_up_token: proof },
      });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.field, '/body/action');
      const stillGood = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: { action: 'settings', required: true, step_up_token: proof },
      });
      assert.equal(stillGood.status, 200, 'refused input did not spend the proof');
    });

    test('login can be made optional (then a password alone gives AAL1) and every change is kept with its time', async () => {
      const customer = await customerWithTotp(running, 'optional-login@example.com');
      const optionalAt = running.clock.now();
      const optional = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: {
          action: 'login',
          required: false,
          step_up_token: await stepUpToken(running, customer, 'mfa.policy'),
        },
      });
      assert.equal(optional.status, 200, JSON.stringify(optional.body));
      assert.equal(optional.body.policy.login.required, false);
      assert.ok(Date.parse(optional.body.policy.login.since) > optionalAt.getTime());
      const optionalSince = optional.body.policy.login.since as string;

      const passwordOnly = await login(running, customer.email);
      assert.equal(passwordOnly.status, 200, JSON.stringify(passwordOnly.body));
      assert.equal(passwordOnly.body.aal, 1);

      running.clock.advance(60_000);
      const required = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: {
          action: 'login',
          required: true,
          step_up_token: await stepUpToken(running, customer, 'mfa.policy'),
        },
      });
      assert.equal(required.status, 200);
      const requiredSince = required.body.policy.login.since as string;
      const refused = await login(running, customer.email);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'MFA_REQUIRED');

      const rows = await settingRows(customer.email, 'mfa_policy:login');
      assert.deepEqual(
        rows.map((r) => r.value),
        ['required', 'optional', 'required'],
      );
      assert.deepEqual(
        rows.slice(1).map((r) => r.effective_at),
        [optionalSince, requiredSince],
      );
      const told = (await mailbox(running, customer.email)).filter((m) => m.event === 'mfa.policy_changed');
      assert.equal(told.length, 2, 'each change is emailed');
    });

    test('the anti-phishing code is set with a step-up and shown in every later email', async () => {
      const customer = await customerWithTotp(running, 'anti-phishing@example.com');
      const before = await mailbox(running, customer.email);
      assert.ok(before.every((m) => !m.text.includes('heron')));
      assert.ok(before.every((m) => m.text.includes('Anti-phishing code: not set')));

      const markup = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: '<b>x</b>', step_up_token: await stepUpToken(running, customer, 'anti_phishing.set') },
      });
      assert.equal(markup.status, 400);
      assert.equal(markup.body.field, '/body/code');

      const firstSet = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: {
          code: 'blue heron',
          step_up_token: await stepUpToken(running, customer, 'anti_phishing.set'),
        },
      });
      assert.equal(firstSet.status, 200, JSON.stringify(firstSet.body));
      assert.equal(JSON.stringify(firstSet.body).includes('heron'), false, 'the API never echoes the code');

      // A later, unrelated security email: a sign-in from a new device.
      const newDevice = await login(running, customer.email, {
        proof: { method: 'totp', code: nextTotp(running, customer.secret) },
        device: { id: 'device-heron-1', platform: 'ios' },
      });
      assert.equal(newDevice.status, 200, JSON.stringify(newDevice.body));
      const deviceMail = (await mailbox(running, customer.email)).find((m) => m.event === 'device.new');
      assert.ok(deviceMail);
      assert.match(deviceMail.text, /^Anti-phishing code: blue heron$/m);
      assert.match(deviceMail.html, /Anti-phishing code: <strong>blue heron<\/strong>/);

      running.clock.advance(24 * 60 * 60_000);
      const relogin = await login(running, customer.email, {
        proof: { method: 'totp', code: nextTotp(running, customer.secret) },
      });
      const token = relogin.body.token as string;
      const secondSet = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token,
        body: {
          code: 'red-kite',
          step_up_token: await stepUpToken(running, { ...customer, token }, 'anti_phishing.set'),
        },
      });
      assert.equal(secondSet.status, 200);
      const latest = (await mailbox(running, customer.email))[0];
      assert.ok(latest);
      assert.equal(latest.event, 'anti_phishing.set');
      assert.match(latest.text, /^Anti-phishing code: red-kite$/m);
      assert.match(latest.html, /<strong>red-kite<\/strong>/);
      assert.equal(latest.text.includes('heron'), false);

      const history = await api(running, 'GET', '/v1/account/anti-phishing-code/history', { token });
      assert.deepEqual(history.body.history, [
        { active_since: secondSet.body.active_since },
        { active_since: firstSet.body.active_since },
      ]);
    });
  });
}
