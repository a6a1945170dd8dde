import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, customerWithTotp, stepUpToken } from '../support/customers.ts';
import { eachEngine } from '../support/each-engine.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`Idempotency-Key on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    test('a retried change returns the first answer and does not act twice; another body under the key is refused', async () => {
      const customer = await customerWithTotp(running, 'idem@example.com');
      const proof = await stepUpToken(running, customer, 'mfa.policy');
      const body = { action: 'login', required: false, step_up_token: proof };
      const headers = { 'idempotency-key': 'policy-change-1' };
      const first = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body,
        headers,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      // The step-up proof is single-use: only a replay of the stored answer can succeed now.
      const retry = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body,
        headers,
      });
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retry.body, first.body);
      const history = await fresh.database.db
        .selectFrom('security_settings_history')
        .select('value')
        .where('setting', '=', 'mfa_policy:login')
        .execute();
      assert.deepEqual(history.map((h) => h.value).sort(), ['optional', 'required']);

      const other = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: { ...body, required: true },
        headers,
      });
      assert.equal(other.status, 422);
      assert.equal(other.body.code, 'IDEMPOTENCY_MISMATCH');
      assert.equal(other.body.field, '/headers/idempotency-key');
    });

    test('a failed request does not burn its key, and a malformed key is a 400 naming the header', async () => {
      const customer = await customerWithTotp(running, 'idem2@example.com');
      const headers = { 'idempotency-key': 'anti-phish-1' };
      const refused = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'sea-otter', step_up_token: 'not-a-real-token' },
        headers,
      });
      assert.equal(refused.status, 403);
      const proof = await stepUpToken(running, customer, 'anti_phishing.set');
      const ok = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: customer.token,
        body: { code: 'sea-otter', step_up_token: proof },
        headers: { 'idempotency-key': 'anti-phish-2' },
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const malformed = await api(running, 'POST', '/v1/account/sessions/end-others', {
        token: customer.token,
        headers: { 'idempotency-key': 'x'.repeat(300) },
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.field, '/headers/idempotency-key');
    });

    test('an answer carrying a secret is not stored: its retry is told the action already happened', async () => {
      const customer = await customerWithTotp(running, 'idem3@example.com');
      const headers = { 'idempotency-key': 'regen-1' };
      const proof = await stepUpToken(running, customer, 'recovery_codes.regenerate');
      const first = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: { step_up_token: proof },
        headers,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const stored = await fresh.database.db
        .selectFrom('idempotency_keys')
        .select('response')
        .where('key', '=', 'regen-1')
        .executeTakeFirstOrThrow();
      assert.equal(stored.response, '');
      const retry = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: { step_up_token: proof },
        headers,
      });
      assert.equal(retry.status, 409);
    });
  });
}
