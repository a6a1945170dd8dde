import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, customerWithTotp, login, nextTotp, stepUpToken } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`identity smoke on ${engine}`, (on) => {
    const running = on.app();

    test('sign up, verify, enrol TOTP, log in with a code, step up', async () => {
      const customer = await customerWithTotp(running, 'alice@example.com');
      const withoutCode = await login(running, customer.email);
      assert.equal(withoutCode.status, 401);
      assert.equal(withoutCode.body.code, 'MFA_REQUIRED');
      const withCode = await login(running, customer.email, {
        proof: { method: 'totp', code: nextTotp(running, customer.secret) },
      });
      assert.equal(withCode.status, 200, JSON.stringify(withCode.body));
      assert.equal(withCode.body.aal, 2);
      const token = await stepUpToken(running, customer, 'anti_phishing.set');
      const set = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'blue-heron', step_up_token: token },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
    });
  });
}
