import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  auditEntries,
  customerWithTotp,
  freshRateWindows,
  lastEmail,
  lockLinkOf,
  login,
  mailbox,
  nextTotp,
  operatorWithSession,
  principalRow,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';

const DAY_MS = 24 * 60 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`account lock on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    const withCode = (secret: string) => ({ proof: { method: 'totp', code: nextTotp(running, secret) } });

    async function assertSessionDead(token: string) {
      const answer = await api(running, 'GET', '/v1/account/sessions', { token });
      assert.ok(answer.status === 401 || answer.status === 403, `session still works: ${answer.status}`);
    }

    async function assertCannotLogIn(email: string, secret: string) {
      const refused = await login(running, email, withCode(secret));
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'ACCOUNT_LOCKED');
    }

    test('locking my account ends every session and stops sign-in', async () => {
      const customer = await customerWithTotp(running, 'lock-me@example.com');
      const second = await login(running, customer.email, withCode(customer.secret));
      assert.equal(second.status, 200);
      const locked = await api(running, 'POST', '/v1/account/lock', { token: customer.token });
      assert.equal(locked.status, 200, JSON.stringify(locked.body));
      assert.equal(locked.body.locked_at, running.clock.now().toISOString());
      await assertSessionDead(customer.token);
      await assertSessionDead(second.body.token);
      await assertCannotLogIn(customer.email, customer.secret);
      assert.equal((await principalRow(running, customer.email)).locked_reason, 'customer');
      const told = await lastEmail(running, customer.email, 'account.locked');
      assert.match(told.text, /Every session was ended/);
      const wrongPassword = await login(running, customer.email, { password: 'not the password at all' });
      assert.equal(
        wrongPassword.body.code,
        'INVALID_CREDENTIALS',
        'a lock is only said after the right password',
      );
    });

    test('the lock link from a security email locks the account, once', async () => {
      const customer = await customerWithTotp(running, 'lock-link@example.com');
      const link = lockLinkOf((await lastEmail(running, customer.email, 'mfa.totp_enrolled')).text);
      const clicked = await api(running, 'GET', link);
      assert.equal(clicked.status, 200);
      assert.match(clicked.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(String(clicked.body), /account is locked/);
      await assertSessionDead(customer.token);
      await assertCannotLogIn(customer.email, customer.secret);
      const row = await principalRow(running, customer.email);
      assert.equal(row.locked_reason, 'lock_link');
      const entry = (await auditEntries(running, 'account.locked')).find(
        (e) => e.subject === `customer:${row.id}`,
      );
      assert.ok(entry);
      assert.equal(entry.actor, 'anonymous:lock_link');

      const again = await api(running, 'GET', link);
      assert.equal(again.status, 400);
      assert.equal(again.body.field, 'token');
      assert.match(again.body.detail, /already used/);

      for (const token of ['garbage', 'A'.repeat(43), 'A'.repeat(129)]) {
        const bad = await api(running, 'GET', `/v1/account/lock-link?token=${token}`);
        assert.equal(bad.status, 400, token);
        assert.equal(bad.body.field.endsWith('token'), true);
      }
    });

    test('a lock link expires after 7 days', async () => {
      const early = await customerWithTotp(running, 'link-in-time@example.com');
      const late = await customerWithTotp(running, 'link-too-late@example.com');
      const earlyLink = lockLinkOf((await lastEmail(running, early.email, 'mfa.totp_enrolled')).text);
      const lateLink = lockLinkOf((await lastEmail(running, late.email, 'mfa.totp_enrolled')).text);
      // Both links were made within the same minute; the late one is tried a minute after its 7 days.
      running.clock.advance(7 * DAY_MS - 60_000);
      assert.equal((await api(running, 'GET', earlyLink)).status, 200);
      running.clock.advance(2 * 60_000);
      const expired = await api(running, 'GET', lateLink);
      assert.equal(expired.status, 400);
      assert.match(expired.body.detail, /expired/);
      assert.equal((await principalRow(running, late.email)).locked_at, null);
      const stillIn = await login(running, late.email, withCode(late.secret));
      assert.equal(stillIn.status, 200, 'an expired link locks nothing');
    });

    test('an operator unlocks a locked account; the old sessions stay dead', async () => {
      const customer = await customerWithTotp(running, 'unlock-me@example.com');
      const support = await operatorWithSession(running, 'support-unlock@ops.example', 'support');
      const { id } = await principalRow(running, customer.email);
      const notLocked = await api(running, 'POST', `/v1/operator/customers/${id}/unlock`, {
        token: support.token,
        body: { reason: 'checking' },
      });
      assert.equal(notLocked.status, 409);

      await api(running, 'POST', '/v1/account/lock', { token: customer.token });
      const noReason = await api(running, 'POST', `/v1/operator/customers/${id}/unlock`, {
        token: support.token,
        body: { reason: '' },
      });
      assert.equal(noReason.status, 400);
      assert.equal(noReason.body.field, 'reason');
      const byCustomer = await api(running, 'POST', `/v1/operator/customers/${id}/unlock`, {
        token: customer.token,
        body: { reason: 'let me in' },
      });
      assert.ok(byCustomer.status === 401 || byCustomer.status === 403);

      const unlocked = await api(running, 'POST', `/v1/operator/customers/${id}/unlock`, {
        token: support.token,
        body: { reason: 'identity checked by phone' },
      });
      assert.equal(unlocked.status, 200, JSON.stringify(unlocked.body));
      await assertSessionDead(customer.token);
      const back = await login(running, customer.email, withCode(customer.secret));
      assert.equal(back.status, 200, JSON.stringify(back.body));
      const entries = await auditEntries(running, 'account.unlocked');
      assert.equal(entries.at(-1)?.actor, `operator:${support.id}`);
      assert.match(entries.at(-1)?.data ?? '', /identity checked by phone/);
      assert.ok((await mailbox(running, customer.email)).some((m) => m.event === 'account.unlocked'));
    });
  });
}
