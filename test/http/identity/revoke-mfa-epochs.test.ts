import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import {
  api,
  customerWithoutFactors,
  customerWithTotp,
  freshRateWindows,
  lastEmail,
  lockLinkOf,
  login,
  nextTotp,
  type Operator,
  operatorWithSession,
  passkeyStepUpToken,
  principalRow,
  registerSoftPasskey,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { TEST_ORIGIN } from '../../support/http.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';

const DAY_MS = 24 * 60 * 60_000;

// Revoke-all bumps global epochs: every test makes its own customers after the revocations of earlier tests, and
// operators are immune to them, so the tests share one database per engine.
for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`MFA revocation on ${engine}`, (on) => {
    const running = on.app();
    let commander: Operator;
    let n = 0;
    beforeEach(async () => {
      freshRateWindows(running);
      n += 1;
      commander = await operatorWithSession(running, `commander-${n}@ops.example`, 'incident_commander');
    });

    async function revokeMfa(body: Record<string, unknown>, token = commander.token) {
      const revoked = await api(running, 'POST', '/v1/operator/security/revoke-mfa', { token, body });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      return revoked.body;
    }

    function totpStepUp(token: string, secret: string) {
      return api(running, 'POST', '/v1/auth/step-up', {
        token,
        body: { action: 'anti_phishing.set', proof: { method: 'totp', code: nextTotp(running, secret) } },
      });
    }

    test('a second factor used after MFA revoke-all is refused; re-enrolment starts the security lock', async () => {
      const customer = await customerWithTotp(running, 'revoked-totp@example.com');
      const token = customer.token;
      assert.deepEqual(await revokeMfa({ all: true }), { scope: 'all', method: 'all' });

      const stepUp = await totpStepUp(token, customer.secret);
      assert.equal(stepUp.status, 401, JSON.stringify(stepUp.body));
      const recovery = await login(running, customer.email, {
        proof: { method: 'recovery_code', code: customer.recoveryCodes[0] },
      });
      assert.equal(recovery.status, 401, 'recovery codes were revoked too');

      const passwordOnly = await login(running, customer.email);
      assert.equal(passwordOnly.status, 200, JSON.stringify(passwordOnly.body));
      assert.equal(passwordOnly.body.aal, 1);
      const fresh = passwordOnly.body.token as string;
      const factors = await api(running, 'GET', '/v1/mfa/factors', { token: fresh });
      assert.deepEqual(factors.body, { factors: [], recovery_codes_left: 0 });

      const passwordAlone = await api(running, 'POST', '/v1/mfa/totp', { token: fresh, body: {} });
      assert.equal(passwordAlone.status, 403, 'the password alone does not re-enrol');
      assert.equal(passwordAlone.body.code, 'REENROLMENT_REQUIRED');
      const link = await api(running, 'POST', '/v1/mfa/reenrolment-link', { token: fresh });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const mail = await lastEmail(running, customer.email, 'mfa.reenrolment_link');
      const code = /Re-enrolment code \(if asked\): (\S+)/.exec(mail.text)?.[1];
      assert.ok(code, mail.text);
      const started = await api(running, 'POST', '/v1/mfa/totp', {
        token: fresh,
        body: { reenrolment_token: code },
      });
      assert.equal(started.status, 201, 're-enrolment with the emailed link');
      const secret = new URL(started.body.otpauth_uri).searchParams.get('secret')!;
      running.clock.advance(30_000);
      const confirmed = await api(running, 'POST', `/v1/mfa/totp/${started.body.factor_id}/confirm`, {
        token: fresh,
        body: { code: totpAt(secret, running.clock.now()) },
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.equal(confirmed.body.recovery_codes.length, 10, 'new recovery codes with the first new factor');
      const until = new Date(running.clock.now().getTime() + DAY_MS).toISOString();
      assert.equal(confirmed.body.withdrawals_locked_until, until);
      assert.equal((await principalRow(running, customer.email)).withdrawals_locked_until, until);
      lockLinkOf((await lastEmail(running, customer.email, 'mfa.totp_enrolled')).text);

      const needsCode = await login(running, customer.email);
      assert.equal(needsCode.body.code, 'MFA_REQUIRED', 'the new factor counts');
      assert.equal((await totpStepUp(fresh, customer.secret)).status, 401, 'the old secret stays dead');
      assert.equal((await totpStepUp(fresh, secret)).status, 200);
    });

    test('operators keep their second factor when every customer factor is revoked', async () => {
      const support = await operatorWithSession(running, 'support@ops.example', 'support');
      await revokeMfa({ all: true });
      await revokeMfa({ all: true, method: 'totp' });
      for (const operator of [commander, support]) {
        const again = await api(running, 'POST', '/v1/operator/login', {
          body: {
            email: operator.email,
            password: operator.password,
            proof: { method: 'totp', code: nextTotp(running, operator.secret) },
          },
        });
        assert.equal(again.status, 200, `${operator.email}: ${JSON.stringify(again.body)}`);
        assert.equal(again.body.aal, 2);
      }
      const noCode = await api(running, 'POST', '/v1/operator/login', {
        body: { email: support.email, password: support.password },
      });
      assert.equal(noCode.body.code, 'MFA_REQUIRED', 'an operator never signs in with a password alone');
    });

    test('method-scoped revocation (totp) leaves passkeys working', async () => {
      const customer = await customerWithTotp(running, 'scoped@example.com');
      const authenticator = new SoftAuthenticator();
      await registerSoftPasskey(
        running,
        customer.token,
        authenticator,
        await stepUpToken(running, customer, 'mfa.enroll'),
      );
      assert.deepEqual(await revokeMfa({ all: true, method: 'totp' }), { scope: 'all', method: 'totp' });

      assert.equal((await totpStepUp(customer.token, customer.secret)).status, 401);
      const proof = await passkeyStepUpToken(running, customer.token, authenticator, 'anti_phishing.set');
      assert.ok(proof);
      const factors = await api(running, 'GET', '/v1/mfa/factors', { token: customer.token });
      assert.deepEqual(
        factors.body.factors.map((f: { method: string }) => f.method),
        ['passkey'],
      );
      assert.equal(factors.body.recovery_codes_left, 10);

      const withoutProof = await login(running, customer.email);
      assert.equal(withoutProof.body.code, 'MFA_REQUIRED', 'a passkey is still a factor');
      const challenge = await api(running, 'POST', '/v1/auth/login/passkey-challenge', {
        body: { email: customer.email },
      });
      const signedIn = await login(running, customer.email, {
        proof: {
          method: 'passkey',
          challenge_id: challenge.body.challenge_id,
          response: authenticator.getAssertion(challenge.body.options, TEST_ORIGIN),
        },
      });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.aal, 2);
      const enrolAgain = await api(running, 'POST', '/v1/mfa/totp', { token: customer.token, body: {} });
      assert.equal(enrolAgain.status, 403, 'with a passkey left, a new authenticator needs a step-up');
      assert.equal(enrolAgain.body.code, 'STEP_UP_REQUIRED');
    });

    test('per-customer revocation touches that customer only', async () => {
      const target = await customerWithTotp(running, 'target@example.com');
      const bystander = await customerWithTotp(running, 'bystander@example.com');
      const analyst = await operatorWithSession(running, 'analyst@ops.example', 'risk_analyst');
      const { id } = await principalRow(running, target.email);
      const scoped = await api(running, 'POST', '/v1/operator/security/revoke-mfa', {
        token: analyst.token,
        body: { customer_id: id, method: 'totp' },
      });
      assert.equal(scoped.status, 400);
      assert.equal(scoped.body.field, '/body/method');
      await revokeMfa({ customer_id: id }, analyst.token);
      assert.equal((await totpStepUp(target.token, target.secret)).status, 401);
      assert.equal((await totpStepUp(bystander.token, bystander.secret)).status, 200);
    });

    test('an enrolment started before revoke-all and confirmed after it counts', async () => {
      const token = await customerWithoutFactors(running, 'mid-revoke@example.com');
      const started = await api(running, 'POST', '/v1/mfa/totp', { token, body: {} });
      assert.equal(started.status, 201);
      await revokeMfa({ all: true });
      const secret = new URL(started.body.otpauth_uri).searchParams.get('secret')!;
      running.clock.advance(30_000);
      const confirmed = await api(running, 'POST', `/v1/mfa/totp/${started.body.factor_id}/confirm`, {
        token,
        body: { code: totpAt(secret, running.clock.now()) },
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      const needsCode = await login(running, 'mid-revoke@example.com');
      assert.equal(needsCode.status, 401, 'a confirmed factor is never silently inert');
      assert.equal(needsCode.body.code, 'MFA_REQUIRED');
      assert.equal((await totpStepUp(token, secret)).status, 200);
    });
  });
}
