import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  customerWithTotp,
  freshRateWindows,
  login,
  nextTotp,
  principalRow,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`step-up proofs on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    async function policyHistoryCount(email: string): Promise<number> {
      const principal = await principalRow(running, email);
      const rows = await running.context.database.db
        .selectFrom('security_settings_history')
        .select('id')
        .where('principal_id', '=', principal.id)
        .execute();
      return rows.length;
    }

    test('a step-up proof for one action presented for another is refused', async () => {
      const customer = await customerWithTotp(running, 'wrong-action@example.com');
      const proof = await stepUpToken(running, customer, 'anti_phishing.set');
      const rowsBefore = await policyHistoryCount(customer.email);

      const misused = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: { action: 'login', required: false, step_up_token: proof },
      });
      assert.equal(misused.status, 403, JSON.stringify(misused.body));
      assert.equal(misused.body.code, 'STEP_UP_REQUIRED');
      assert.equal(misused.body.field, '/body/step_up_token');
      assert.equal(misused.body.action, 'mfa.policy');

      const policy = await api(running, 'GET', '/v1/account/mfa-policy', { token: customer.token });
      assert.equal(policy.body.policy.login.required, true, 'the policy did not change');
      assert.equal(await policyHistoryCount(customer.email), rowsBefore, 'no setting was recorded');

      const ownUse = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'blue-heron', step_up_token: proof },
      });
      assert.equal(ownUse.status, 200, 'the refused proof still works for its own action');
    });

    test('a step-up proof is single-use', async () => {
      const customer = await customerWithTotp(running, 'single-use@example.com');
      const proof = await stepUpToken(running, customer, 'anti_phishing.set');
      const first = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'first-code', step_up_token: proof },
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'second-code', step_up_token: proof },
      });
      assert.equal(again.status, 403);
      assert.equal(again.body.code, 'STEP_UP_REQUIRED');
      const history = await api(running, 'GET', '/v1/account/anti-phishing-code/history', {
        token: customer.token,
      });
      assert.equal(history.body.history.length, 1, 'the replay changed nothing');
    });

    test('a step-up proof expires 5 minutes after it was made', async () => {
      const customer = await customerWithTotp(running, 'expiry@example.com');
      const early = await stepUpToken(running, customer, 'anti_phishing.set');
      running.clock.advance(5 * 60_000 - 1);
      const justInTime = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'in-time', step_up_token: early },
      });
      assert.equal(justInTime.status, 200, JSON.stringify(justInTime.body));

      const late = await stepUpToken(running, customer, 'anti_phishing.set');
      running.clock.advance(5 * 60_000);
      const tooLate = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'too-late', step_up_token: late },
      });
      assert.equal(tooLate.status, 403);
      assert.equal(tooLate.body.code, 'STEP_UP_REQUIRED');
      assert.match(tooLate.body.detail, /expired/);
    });

    test('an AAL2 session alone is not enough for a step-up action', async () => {
      const customer = await customerWithTotp(running, 'no-proof@example.com');
      const sessions = await api(running, 'GET', '/v1/account/sessions', { token: customer.token });
      assert.equal(sessions.body.sessions[0].aal, 2);
      for (const body of [
        { code: 'no-proof' },
        { code: 'no-proof', step_up_token: '' },
        { code: 'no-proof', step_up_token: 'A'.repeat(43) },
      ]) {
        const refused = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
          token: customer.token,
          body,
        });
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.body.code, 'STEP_UP_REQUIRED');
        assert.equal(refused.body.action, 'anti_phishing.set', 'the answer names the action to step up for');
      }
      for (const [method, path, body] of [
        ['PUT', '/v1/account/mfa-policy', { action: 'login', required: false }],
        ['POST', '/v1/mfa/recovery-codes', {}],
      ] as const) {
        const refused = await api(running, method, path, { token: customer.token, body });
        assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'STEP_UP_REQUIRED');
      }
    });

    test('a step-up proof is refused in another session and for another customer', async () => {
      const alice = await customerWithTotp(running, 'alice-session@example.com');
      const mallory = await customerWithTotp(running, 'mallory-session@example.com');
      const otherSession = await login(running, alice.email, {
        proof: { method: 'totp', code: nextTotp(running, alice.secret) },
      });
      assert.equal(otherSession.status, 200, JSON.stringify(otherSession.body));
      const proof = await stepUpToken(running, alice, 'anti_phishing.set');

      for (const token of [otherSession.body.token, mallory.token]) {
        const refused = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
          token,
          body: { code: 'stolen-proof', step_up_token: proof },
        });
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        assert.equal(refused.body.code, 'STEP_UP_REQUIRED');
      }
      const own = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: alice.token,
        body: { code: 'own-proof', step_up_token: proof },
      });
      assert.equal(own.status, 200, 'the proof still works in the session that made it');
    });

    test('a step-up with a wrong or replayed TOTP code gives no proof', async () => {
      const customer = await customerWithTotp(running, 'wrong-code@example.com');
      const code = nextTotp(running, customer.secret);
      const first = await api(running, 'POST', '/v1/auth/step-up', {
        token: customer.token,
        body: { action: 'anti_phishing.set', proof: { method: 'totp', code } },
      });
      assert.equal(first.status, 200);
      // The code just used, typed again in the same session, is told as such; a wrong one is a wrong one.
      for (const [attempt, status, problem] of [
        [code, 409, 'TOTP_ALREADY_USED'],
        ['000000', 401, 'INVALID_CREDENTIALS'],
      ] as const) {
        const refused = await api(running, 'POST', '/v1/auth/step-up', {
          token: customer.token,
          body: { action: 'anti_phishing.set', proof: { method: 'totp', code: attempt } },
        });
        assert.equal(refused.status, status);
        assert.equal(refused.body.code, problem);
        assert.equal(refused.body.step_up_token, undefined);
      }
      const unknownAction = await api(running, 'POST', '/v1/auth/step-up', {
        token: customer.token,
        body: { action: 'withdrawal.everything', proof: { method: 'totp', code: '123456' } },
      });
      assert.equal(unknownAction.status, 400);
      assert.equal(unknownAction.body.field, '/body/action');
    });
  });
}
