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
  pressLinkButton,
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

    const lockWithToken = (token: string) =>
      api(running, 'POST', '/v1/account/lock-link', { body: { token } });

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
      const { pressed: clicked, token } = await pressLinkButton(running, link);
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

      const again = await lockWithToken(token);
      assert.equal(again.status, 400);
      assert.equal(again.body.field, '/body/token');
      assert.match(again.body.detail, /already used/);

      for (const bad of ['garbage', 'A'.repeat(43), 'A'.repeat(129)]) {
        const refused = await lockWithToken(bad);
        assert.equal(refused.status, 400, bad);
        assert.equal(refused.body.field.endsWith('token'), true);
      }
    });

    test('a mail scanner opening the lock link (GET, HEAD) locks nothing and leaves the link working', async () => {
      const customer = await customerWithTotp(running, 'scanned-lock@example.com');
      const link = lockLinkOf((await lastEmail(running, customer.email, 'mfa.totp_enrolled')).text);
      const page = await api(running, 'GET', link);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self'/);
      assert.match(String(page.body), /<form method="post" action="lock-link">/);
      assert.doesNotMatch(String(page.body), /<script/i, 'the page works without script');
      const head = await fetch(`${running.url}${link}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await api(running, 'GET', link)).status, 200, 'opened twice');

      assert.equal((await principalRow(running, customer.email)).locked_at, null, 'nothing was locked');
      const stillIn = await api(running, 'GET', '/v1/account/sessions', { token: customer.token });
      assert.equal(stillIn.status, 200, 'the session still works');

      // The link still works: the button on the page locks the account.
      const { pressed } = await pressLinkButton(running, link);
      assert.equal(pressed.status, 200, String(pressed.body));
      assert.notEqual((await principalRow(running, customer.email)).locked_at, null);
      await assertSessionDead(customer.token);
    });

    test('an API client locks with the link token as JSON and gets JSON back', async () => {
      const customer = await customerWithTotp(running, 'json-lock@example.com');
      const link = lockLinkOf((await lastEmail(running, customer.email, 'mfa.totp_enrolled')).text);
      const token = new URL(link, running.url).searchParams.get('token') ?? '';
      const locked = await lockWithToken(token);
      assert.equal(locked.status, 200, JSON.stringify(locked.body));
      assert.equal(locked.body.locked_at, running.clock.now().toISOString());
      // A form post that asks for JSON gets JSON too.
      const other = await customerWithTotp(running, 'json-form-lock@example.com');
      const otherLink = lockLinkOf((await lastEmail(running, other.email, 'mfa.totp_enrolled')).text);
      const { pressed } = await pressLinkButton(running, otherLink, 'application/json');
      assert.equal(pressed.status, 200, JSON.stringify(pressed.body));
      assert.equal(typeof pressed.body.locked_at, 'string');
    });

    test('a lock link expires after 7 days', async () => {
      const early = await customerWithTotp(running, 'link-in-time@example.com');
      const late = await customerWithTotp(running, 'link-too-late@example.com');
      const earlyLink = lockLinkOf((await lastEmail(running, early.email, 'mfa.totp_enrolled')).text);
      const lateLink = lockLinkOf((await lastEmail(running, late.email, 'mfa.totp_enrolled')).text);
      // Both links were made within the same minute; the late one is tried a minute after its 7 days.
      running.clock.advance(7 * DAY_MS - 60_000);
      assert.equal((await pressLinkButton(running, earlyLink)).pressed.status, 200);
      running.clock.advance(2 * 60_000);
      const { pressed: expired } = await pressLinkButton(running, lateLink);
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
      assert.equal(noReason.body.field, '/body/reason');
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
