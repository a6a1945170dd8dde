import assert from 'node:assert/strict';
import { test } from 'node:test';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import {
  api,
  customerWithoutFactors,
  customerWithTotp,
  forgetRateLimits,
  lastEmail,
  login,
  mailbox,
  operatorWithSession,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

const CODE = /Re-enrolment code \(if asked\): (\S+)/;

/**
 * The attacker of 2022 after the response: they hold a customer's phished password, and every customer's second
 * factor has just been revoked by the incident. Signing in with the password alone works (AAL1), but enrolling
 * their own authenticator or passkey does not: that needs the link sent to the customer's verified email.
 */
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`re-enrolment after a mass MFA revocation, as the attacker, on ${engine}`, (on) => {
    const running = on.app();

    test('a phished password cannot enrol the attacker’s authenticator; the emailed link can, once', async () => {
      const victim = await customerWithTotp(running, 'victim@example.com');
      const mallory = await customerWithTotp(running, 'mallory@example.com');
      const commander = await operatorWithSession(running, 'ic@ops.example', 'incident_commander');
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
      const token = attacker.body.token as string;

      for (const path of ['/v1/mfa/totp', '/v1/mfa/passkeys/options']) {
        const refused = await api(running, 'POST', path, { token, body: {} });
        assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'REENROLMENT_REQUIRED');
      }
      const guessed = await api(running, 'POST', '/v1/mfa/totp', {
        token,
        body: { reenrolment_token: 'A'.repeat(43) },
      });
      assert.equal(guessed.status, 400);
      assert.equal(guessed.body.field, '/body/reenrolment_token');

      // The attacker's own account's link does not open the victim's.
      const malloryLogin = await login(running, mallory.email);
      const malloryLink = await api(running, 'POST', '/v1/mfa/reenrolment-link', {
        token: malloryLogin.body.token,
      });
      assert.equal(malloryLink.status, 200, JSON.stringify(malloryLink.body));
      const malloryCode = CODE.exec(
        (await lastEmail(running, mallory.email, 'mfa.reenrolment_link')).text,
      )?.[1];
      assert.ok(malloryCode);
      const foreign = await api(running, 'POST', '/v1/mfa/totp', {
        token,
        body: { reenrolment_token: malloryCode },
      });
      assert.equal(foreign.status, 400, 'a link is for its own account only');

      // Asking for a link from the victim's session sends it to the victim's mailbox, not to the asker.
      const asked = await api(running, 'POST', '/v1/mfa/reenrolment-link', { token });
      assert.equal(asked.status, 200, JSON.stringify(asked.body));
      assert.deepEqual(Object.keys(asked.body).sort(), ['expires_at', 'sent']);
      const email = await lastEmail(running, victim.email, 'mfa.reenrolment_link');
      const code = CODE.exec(email.text)?.[1];
      assert.ok(code);
      assert.ok(!JSON.stringify(asked.body).includes(code), 'the answer never carries the link');
      const stillRefused = await api(running, 'POST', '/v1/mfa/totp', { token, body: {} });
      assert.equal(stillRefused.status, 403);

      // The victim, reading their own email, enrols again; the link is single-use.
      await forgetRateLimits(running);
      const own = await login(running, victim.email);
      const started = await api(running, 'POST', '/v1/mfa/totp', {
        token: own.body.token,
        body: { reenrolment_token: code },
      });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const secret = new URL(started.body.otpauth_uri).searchParams.get('secret') as string;
      running.clock.advance(30_000);
      const confirmed = await api(running, 'POST', `/v1/mfa/totp/${started.body.factor_id}/confirm`, {
        token: own.body.token,
        body: { code: totpAt(secret, running.clock.now()) },
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      const reused = await api(running, 'POST', '/v1/mfa/totp', { token, body: { reenrolment_token: code } });
      assert.equal(
        reused.status,
        403,
        'with a factor again, enrolling needs a step-up with it; the link is spent',
      );
      assert.equal(reused.body.code, 'STEP_UP_REQUIRED');
      assert.equal(
        (await login(running, victim.email)).body.code,
        'MFA_REQUIRED',
        'the password alone is over',
      );
      assert.ok((await mailbox(running, victim.email)).some((m) => m.event === 'mfa.totp_enrolled'));
    });

    test('an account that never had a second factor still enrols its first from the session', async () => {
      const token = await customerWithoutFactors(running, 'first-time@example.com');
      const started = await api(running, 'POST', '/v1/mfa/totp', { token, body: {} });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const link = await api(running, 'POST', '/v1/mfa/reenrolment-link', { token });
      assert.equal(link.status, 409, 'no link is needed, none is sent');
    });
  });
}
