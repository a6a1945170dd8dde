import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  api,
  customerWithTotp,
  lastEmail,
  lockLinkOf,
  login,
  nextTotp,
  PASSWORD,
  signUpVerified,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

function codeIn(text: string, label: string): string {
  const match = new RegExp(`${label}: ([A-Za-z0-9_-]+)`).exec(text);
  assert.ok(match, `no ${label} in the email`);
  return match[1] as string;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`password reset and email change on ${engine}`, (on) => {
    const fresh = on.database();
    const running = on.app();

    test('a password reset ends every session, pauses withdrawals for 24 h and tells the customer', async () => {
      running.clock.advance(60 * 60_000);
      await signUpVerified(running, 'reset@example.com');
      const session = await login(running, 'reset@example.com');
      assert.equal(session.status, 200);
      const unknown = await api(running, 'POST', '/v1/auth/password-reset', {
        body: { email: 'nobody@example.com' },
      });
      const known = await api(running, 'POST', '/v1/auth/password-reset', {
        body: { email: 'reset@example.com' },
      });
      assert.equal(unknown.status, 202);
      assert.deepEqual(known.body, unknown.body, 'the answer does not tell which emails have accounts');
      const token = codeIn(
        (await lastEmail(running, 'reset@example.com', 'account.password_reset_requested')).text,
        'Reset code',
      );

      const done = await api(running, 'POST', '/v1/auth/password-reset/complete', {
        body: { token, password: 'a brand new passphrase' },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const expected = new Date(running.clock.now().getTime() + 24 * 60 * 60_000).toISOString();
      assert.equal(done.body.withdrawals_locked_until, expected);
      const stale = await api(running, 'GET', '/v1/account/sessions', { token: session.body.token });
      assert.equal(stale.status, 401, 'the old session ended');
      assert.equal((await login(running, 'reset@example.com')).status, 401, 'the old password is gone');
      assert.equal((await login(running, 'reset@example.com', {}, 'a brand new passphrase')).status, 200);
      const told = await lastEmail(running, 'reset@example.com', 'account.password_reset');
      lockLinkOf(told.text);

      const replay = await api(running, 'POST', '/v1/auth/password-reset/complete', {
        body: { token, password: 'yet another passphrase' },
      });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.field, '/body/token');
    });

    test('an email change needs a step-up proof, is confirmed by the new address, tells the old one and pauses withdrawals', async () => {
      running.clock.advance(60 * 60_000);
      const customer = await customerWithTotp(running, 'old@example.com');
      const without = await api(running, 'POST', '/v1/account/email-change', {
        token: customer.token,
        body: { new_email: 'new@example.com' },
      });
      assert.equal(without.status, 403);
      assert.equal(without.body.code, 'STEP_UP_REQUIRED');

      const proof = await stepUpToken(running, customer, 'email.change');
      const asked = await api(running, 'POST', '/v1/account/email-change', {
        token: customer.token,
        body: { new_email: 'new@example.com', step_up_token: proof },
      });
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      await lastEmail(running, 'old@example.com', 'account.email_change_requested');
      const token = codeIn(
        (await lastEmail(running, 'new@example.com', 'account.email_change_requested')).text,
        'Confirmation code',
      );

      const confirmed = await api(running, 'POST', '/v1/account/email-change/confirm', { body: { token } });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      await lastEmail(running, 'old@example.com', 'account.email_changed');
      const relogin = await login(running, 'new@example.com', {
        proof: { method: 'totp', code: nextTotp(running, customer.secret) },
      });
      assert.equal(relogin.status, 200, JSON.stringify(relogin.body));
      const oldLogin = await login(running, 'old@example.com', {}, PASSWORD);
      assert.equal(oldLogin.status, 401);
      const row = await fresh.database.db
        .selectFrom('principals')
        .select('withdrawals_locked_until')
        .where('email', '=', 'new@example.com')
        .executeTakeFirstOrThrow();
      assert.ok(
        row.withdrawals_locked_until !== null &&
          row.withdrawals_locked_until > running.clock.now().toISOString(),
      );
    });
  });
}
