import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  customerWithTotp,
  freshRateWindows,
  login,
  registerSoftPasskey,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`recovery codes on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    const withRecoveryCode = (code: string) => ({ proof: { method: 'recovery_code', code } });

    async function codesLeft(token: string): Promise<number> {
      const factors = await api(running, 'GET', '/v1/mfa/factors', { token });
      assert.equal(factors.status, 200);
      assert.equal(JSON.stringify(factors.body).includes('code_hash'), false, 'no code material is listed');
      return factors.body.recovery_codes_left;
    }

    test('recovery codes are shown once, at the first enrolment only', async () => {
      const customer = await customerWithTotp(running, 'shown-once@example.com');
      assert.equal(customer.recoveryCodes.length, 10);
      assert.equal(new Set(customer.recoveryCodes).size, 10);
      assert.equal(await codesLeft(customer.token), 10);

      const { body } = await registerSoftPasskey(
        running,
        customer.token,
        new SoftAuthenticator(),
        await stepUpToken(running, customer, 'mfa.enroll'),
      );
      assert.equal(body.recovery_codes, undefined, 'a second factor does not show codes again');
      assert.equal(await codesLeft(customer.token), 10, 'nor replace them');
      const mail = await api(running, 'GET', `/v1/dev/mailbox?to=${customer.email}`);
      for (const message of mail.body.messages) {
        for (const code of customer.recoveryCodes) assert.equal(message.text.includes(code), false);
      }
    });

    test('each recovery code works once, for sign-in or step-up', async () => {
      const customer = await customerWithTotp(running, 'once-each@example.com');
      const [first, second] = customer.recoveryCodes as [string, string];
      const signedIn = await login(running, customer.email, withRecoveryCode(first.toUpperCase()));
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.aal, 2);
      const again = await login(running, customer.email, withRecoveryCode(first));
      assert.equal(again.status, 401);
      assert.equal(again.body.code, 'INVALID_CREDENTIALS');

      const stepUp = (code: string) =>
        api(running, 'POST', '/v1/auth/step-up', {
          token: customer.token,
          body: { action: 'anti_phishing.set', ...withRecoveryCode(code) },
        });
      assert.equal((await stepUp(first)).status, 401, 'a code spent on sign-in is spent for step-up too');
      assert.equal((await stepUp(second)).status, 200);
      assert.equal((await stepUp(second)).status, 401);
      assert.equal(await codesLeft(customer.token), 8);
    });

    test('regenerating needs a step-up and invalidates every old code', async () => {
      const customer = await customerWithTotp(running, 'regenerate@example.com');
      const old = customer.recoveryCodes as string[];
      const withoutProof = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: {},
      });
      assert.equal(withoutProof.status, 403);
      assert.equal(withoutProof.body.code, 'STEP_UP_REQUIRED');
      const wrongProof = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: { step_up_token: await stepUpToken(running, customer, 'mfa.remove') },
      });
      assert.equal(wrongProof.status, 403);
      assert.equal(await codesLeft(customer.token), 10);
      assert.equal((await login(running, customer.email, withRecoveryCode(old[0]!))).status, 200);

      const regenerated = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: { step_up_token: await stepUpToken(running, customer, 'recovery_codes.regenerate') },
      });
      assert.equal(regenerated.status, 200, JSON.stringify(regenerated.body));
      const fresh = regenerated.body.recovery_codes as string[];
      assert.equal(fresh.length, 10);
      assert.equal(
        fresh.some((code) => old.includes(code)),
        false,
      );
      assert.equal(await codesLeft(customer.token), 10);
      for (const code of [old[1]!, old[9]!]) {
        const refused = await login(running, customer.email, withRecoveryCode(code));
        assert.equal(refused.status, 401, 'an old code is dead');
      }
      assert.equal((await login(running, customer.email, withRecoveryCode(fresh[0]!))).status, 200);
    });
  });
}
