import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, customerWithTotp, login, operatorWithSession, stepUpToken } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

/**
 * A phished password after an incident's mass MFA revocation opens a password-only (AAL1) session: GET /v1/account
 * does not give it the anti-phishing code (null), a second-factor session gets it.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the anti-phishing code and a password-only session, on ${engine}`, (on) => {
    const running = on.app();

    test('the anti-phishing code is not readable by a password-only (AAL1) session', async () => {
      const victim = await customerWithTotp(running, 'victim-ap@example.com');
      const set = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: victim.token,
        body: {
          code: 'blue heron 42',
          step_up_token: await stepUpToken(running, victim, 'anti_phishing.set'),
        },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const shown = await api(running, 'GET', '/v1/account', { token: victim.token });
      assert.equal(shown.body.aal, 2);
      assert.equal(shown.body.anti_phishing_code, 'blue heron 42');
      const commander = await operatorWithSession(running, 'ic-ap@ops.example', 'incident_commander');
      const opened = await api(running, 'POST', '/v1/operator/incidents', {
        token: commander.token,
        body: { title: 'Phished passwords', severity: 'critical' },
      });
      const revoked = await api(running, 'POST', `/v1/operator/incidents/${opened.body.id}/revoke`, {
        token: commander.token,
        body: { sessions: true, mfa: true },
      });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      const attacker = await login(running, victim.email);
      assert.equal(attacker.status, 200, JSON.stringify(attacker.body));
      assert.equal(attacker.body.aal, 1);
      const me = await api(running, 'GET', '/v1/account', { token: attacker.body.token });
      // control: the email cannot be moved to the attacker's address (step-up needs a factor)
      const moved = await api(running, 'POST', '/v1/account/email', {
        token: attacker.body.token,
        body: { email: 'mallory@evil.example' },
      });
      assert.notEqual(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(me.status, 200);
      assert.equal(
        me.body.anti_phishing_code,
        null,
        `GET /v1/account hands an AAL1 session the anti-phishing code: ${JSON.stringify(me.body)}`,
      );
    });
  });
}
