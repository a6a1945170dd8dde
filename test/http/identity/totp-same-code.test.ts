import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { DomainError } from '../../../src/core/errors.ts';
import { authenticate } from '../../../src/services/identity/sessions.ts';
import { stepUp } from '../../../src/services/identity/step-up.ts';
import {
  api,
  auditActionsAbout,
  type Customer,
  customerWithTotp,
  forgetRateLimits,
  login,
  mailbox,
  nextTotp,
  principalIdOf,
  principalRow,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { readyCustomer, requestBtc, withdrawalRow } from '../../support/withdrawals.ts';

const withTotp = (code: string) => ({ proof: { method: 'totp', code } });

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`the same TOTP code twice in its step, on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => forgetRateLimits(running));

    /** Signs in with the next step's code: the new session's token and the code it used. */
    async function signedInWith(customer: Customer) {
      const code = nextTotp(running, customer.secret);
      const session = await login(running, customer.email, withTotp(code));
      assert.equal(session.status, 200, JSON.stringify(session.body));
      return { token: session.body.token as string, code };
    }

    async function replayAlarms(email: string) {
      const id = await principalIdOf(running, email);
      const audited = (await auditActionsAbout(running, `customer:${id}`)).filter(
        (a) => a === 'mfa.totp_replay_refused',
      );
      const emailed = (await mailbox(running, email)).filter((m) => m.event === 'mfa.totp_replay_refused');
      return { audited: audited.length, emailed: emailed.length };
    }

    function assertJustUsed(answer: { status: number; body: Record<string, unknown> }) {
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.equal(answer.body.code, 'TOTP_ALREADY_USED');
      assert.equal(answer.body.field, '/body/proof/code');
      assert.match(String(answer.body.detail), /just used; wait for the next one/);
    }

    test('signing in with a code, then confirming a withdrawal with the same code, says it was just used', async () => {
      const ready = await readyCustomer(running, 'same-code-withdrawal@example.com');
      const { token, code } = await signedInWith(ready);
      const customer = { ...ready, token };
      const requested = await requestBtc(running, customer, '0.1');
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const id = requested.body.id as string;

      const confirm = (proofCode: string) =>
        api(running, 'POST', `/v1/withdrawals/${id}/confirm`, {
          token,
          body: { proof: { method: 'totp', code: proofCode } },
        });
      assertJustUsed(await confirm(code));

      // No alarm, no failure counted, the withdrawal untouched and still waiting for a proof.
      assert.deepEqual(await replayAlarms(customer.email), { audited: 0, emailed: 0 });
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 0);
      const row = await withdrawalRow(running, id);
      assert.equal(row.state, 'awaiting_confirmation');
      assert.equal(row.confirm_failures, 0);

      // The next code confirms it.
      const confirmed = await confirm(nextTotp(running, customer.secret));
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    });

    test('the code just used to sign in, typed again for a step-up in that session, never locks second factors', async () => {
      const customer = await customerWithTotp(running, 'same-code-step-up@example.com');
      const { token, code } = await signedInWith(customer);
      const stepUpWith = (proofCode: string) =>
        api(running, 'POST', '/v1/auth/step-up', {
          token,
          body: { action: 'anti_phishing.set', proof: { method: 'totp', code: proofCode } },
        });
      // More times than the five failures that lock second factors.
      for (let i = 0; i < 6; i++) assertJustUsed(await stepUpWith(code));
      assert.deepEqual(await replayAlarms(customer.email), { audited: 0, emailed: 0 });
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 0);
      assert.equal((await principalRow(running, customer.email)).mfa_locked_until, null);

      const fresh = nextTotp(running, customer.secret);
      const steppedUp = await stepUpWith(fresh);
      assert.equal(steppedUp.status, 200, JSON.stringify(steppedUp.body));
      // The step-up's own code, typed again in the same session, is told the same way.
      assertJustUsed(await stepUpWith(fresh));
    });

    test('the same code from another session is still a replay: refused, alarmed and counted', async () => {
      const customer = await customerWithTotp(running, 'same-code-other-session@example.com');
      const { code } = await signedInWith(customer);
      // customer.token is the enrolment's session, not the one the code signed in.
      const replayed = await api(running, 'POST', '/v1/auth/step-up', {
        token: customer.token,
        body: { action: 'anti_phishing.set', proof: { method: 'totp', code } },
      });
      assert.equal(replayed.status, 401, JSON.stringify(replayed.body));
      assert.equal(replayed.body.code, 'INVALID_CREDENTIALS');
      assert.deepEqual(await replayAlarms(customer.email), { audited: 1, emailed: 1 });
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 1);

      // A second login with the code is another session too.
      const again = await login(running, customer.email, withTotp(code));
      assert.equal(again.status, 401, JSON.stringify(again.body));
      assert.equal(again.body.code, 'INVALID_CREDENTIALS');
      assert.deepEqual(await replayAlarms(customer.email), { audited: 2, emailed: 2 });
    });

    test('the same code in the same session but from another IP address is still a replay', async () => {
      const customer = await customerWithTotp(running, 'same-code-other-ip@example.com');
      const { token, code } = await signedInWith(customer);
      const auth = await authenticate(running.context, token);
      await assert.rejects(
        stepUp(
          running.context,
          auth,
          { action: 'anti_phishing.set', proof: { method: 'totp', code } },
          { ip: '203.0.113.7', userAgent: 'elsewhere' },
        ),
        (error: unknown) => error instanceof DomainError && error.code === 'INVALID_CREDENTIALS',
      );
      assert.deepEqual(await replayAlarms(customer.email), { audited: 1, emailed: 1 });
      assert.equal((await principalRow(running, customer.email)).mfa_failures, 1);
    });

    test('MFA_REQUIRED lists exactly the proof methods the customer can sign in with', async () => {
      const customer = await customerWithTotp(running, 'which-methods@example.com');
      const required = await login(running, customer.email);
      assert.equal(required.status, 401, JSON.stringify(required.body));
      assert.equal(required.body.code, 'MFA_REQUIRED');
      assert.deepEqual(required.body.methods, ['totp', 'recovery_code']);
      // Each listed method is one `proof.method` takes: both sign in.
      const byTotp = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
      assert.equal(byTotp.status, 200, JSON.stringify(byTotp.body));
      const byRecovery = await login(running, customer.email, {
        proof: { method: 'recovery_code', code: customer.recoveryCodes[0] },
      });
      assert.equal(byRecovery.status, 200, JSON.stringify(byRecovery.body));
      // The factor kind "recovery" is not a method a proof names.
      const misnamed = await login(running, customer.email, { proof: { method: 'recovery', code: 'x' } });
      assert.equal(misnamed.status, 400, JSON.stringify(misnamed.body));
    });
  });
}
