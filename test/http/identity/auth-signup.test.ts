import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  api,
  auditActionsAbout,
  countPrincipals,
  forgetRateLimits,
  login,
  mailbox,
  PASSWORD,
  pressLinkButton,
  principalIdOf,
  signUpVerified,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

const HOUR_MS = 60 * 60_000;

/** A request whose body is sent exactly as given (broken JSON included). */
async function rawPost(running: RunningApp, path: string, body: string) {
  const response = await fetch(`${running.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text };
}

/** The verification tokens emailed to `email`, newest first. */
async function verificationTokens(running: RunningApp, email: string): Promise<string[]> {
  return (await mailbox(running, email))
    .filter((m) => m.event === 'account.verify_email')
    .map((m) => /Verification code \(if asked\): ([A-Za-z0-9_-]+)/.exec(m.text)?.[1] ?? '');
}

/** The newest verification link emailed to `email`, exactly as the email gives it. */
async function verificationLink(running: RunningApp, email: string): Promise<string> {
  const message = (await mailbox(running, email)).find((m) => m.event === 'account.verify_email');
  const link = /Confirm my email: (\S+)/.exec(message?.text ?? '')?.[1];
  assert.ok(link, 'no verification link in the email');
  assert.ok(message?.html.includes(link), 'the HTML has the same link');
  assert.ok(
    link.startsWith('http://127.0.0.1:8080/verify-email?token='),
    `the console's landing page: ${link}`,
  );
  // That page's button posts to the API's; the API's own page (the same token) stands in for it here.
  return link.replace('/verify-email?', '/v1/auth/verify-email?');
}

async function signUp(running: RunningApp, email: string, password = PASSWORD) {
  return api(running, 'POST', '/v1/auth/signup', { body: { email, password } });
}

async function verify(running: RunningApp, token: string) {
  return api(running, 'POST', '/v1/auth/verify-email', { body: { token } });
}

const long = (n: number) => 'x'.repeat(n);
const GOOD = { email: 'someone@example.com', password: PASSWORD };

/** [route, body as sent, field the problem must name] */
const BAD_INPUT: readonly (readonly [string, string, string])[] = [
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, email: 'not-an-email' }), '/body/email'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, email: `${long(250)}@example.com` }), '/body/email'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, email: 'a\u0000b@example.com' }), '/body/email'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, password: long(10_000) }), '/body/password'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, password: long(200) }), '/body/password'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, password: 'short' }), '/body/password'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, password: '\ud800'.repeat(12) }), '/body/password'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, role: 'admin' }), '/body/role'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, email: 42 }), '/body/email'],
  ['/v1/auth/signup', JSON.stringify({ ...GOOD, password: ['a', 'list'] }), '/body/password'],
  ['/v1/auth/signup', JSON.stringify({ email: GOOD.email }), '/body/password'],
  ['/v1/auth/signup', '{"email": "someone@example.com", "password": ', '/body'],
  [
    '/v1/auth/signup',
    `{"email":"x@example.com","password":"${PASSWORD}","__proto__":{"admin":true}}`,
    '/body',
  ],
  ['/v1/auth/signup', '[]', '/body'],
  ['/v1/auth/signup', '', '/body'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, email: 'not-an-email' }), '/body/email'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, password: long(10_000) }), '/body/password'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, password: long(129) }), '/body/password'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, remember_me: true }), '/body/remember_me'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, password: 12345678901 }), '/body/password'],
  [
    '/v1/auth/login',
    JSON.stringify({ ...GOOD, proof: { method: 'sms', code: '123456' } }),
    '/body/proof/method',
  ],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, proof: { method: 'totp' } }), '/body/proof/code'],
  ['/v1/auth/login', JSON.stringify({ ...GOOD, device: { id: 'x', platform: 'ios' } }), '/body/device/id'],
  ['/v1/auth/login', '{"email": ', '/body'],
  ['/v1/auth/verify-email', JSON.stringify({ token: 42 }), '/body/token'],
  ['/v1/auth/verify-email', JSON.stringify({ token: long(10_000) }), '/body/token'],
  ['/v1/auth/verify-email', JSON.stringify({ token: 'not-a-token' }), '/body/token'],
  ['/v1/auth/verify-email', JSON.stringify({ token: 'a'.repeat(43), extra: 1 }), '/body/extra'],
  ['/v1/auth/verify-email', JSON.stringify({}), '/body/token'],
  ['/v1/auth/verify-email', '{"token"', '/body'],
];

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`sign-up and email verification on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => forgetRateLimits(running));

    test('bad input gets a 400 problem naming the field, never a 5xx, and stores nothing', async () => {
      const before = await countPrincipals(running);
      for (const [path, body, field] of BAD_INPUT) {
        const answer = await rawPost(running, path, body);
        const label = `${path} ${body.slice(0, 80)}: ${answer.text.slice(0, 300)}`;
        assert.equal(answer.status, 400, label);
        assert.match(answer.type ?? '', /^application\/problem\+json/, label);
        const problem = JSON.parse(answer.text);
        assert.equal(problem.code, 'INVALID_INPUT', label);
        assert.equal(problem.field, field, label);
        assert.ok(problem.detail.length > 0, label);
      }
      assert.equal(await countPrincipals(running), before);
      assert.equal(Object.hasOwn(Object.prototype, 'admin'), false);
    });

    test('a login before the email is verified is refused, and the link is single-use', async () => {
      const email = 'unverified@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      const early = await login(running, email);
      assert.equal(early.status, 403, JSON.stringify(early.body));
      assert.equal(early.body.code, 'EMAIL_NOT_VERIFIED');
      // Only a right password learns that the address is unverified.
      const wrong = await login(running, email, {}, 'not the password at all');
      assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');

      const [token] = await verificationTokens(running, email);
      assert.ok(token);
      const first = await verify(running, token);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const second = await verify(running, token);
      assert.equal(second.status, 400, JSON.stringify(second.body));
      assert.equal(second.body.field, '/body/token');
      assert.match(second.body.detail, /used/);
      assert.equal((await login(running, email)).status, 200);
    });

    test('the verification link in the email works: its page confirms the address with one button', async () => {
      const email = 'follows-the-link@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      const link = await verificationLink(running, email);
      assert.ok(link.startsWith('http://127.0.0.1:8080/v1/auth/verify-email?token='), link);
      const { page, pressed } = await pressLinkButton(running, link);
      assert.match(String(page.body), /Confirm your email address/);
      assert.equal(pressed.status, 200, String(pressed.body));
      assert.match(pressed.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(String(pressed.body), /Email address confirmed/);
      assert.equal((await login(running, email)).status, 200, 'the address is verified');
      const id = await principalIdOf(running, email);
      assert.ok((await auditActionsAbout(running, `customer:${id}`)).includes('account.email_verified'));
    });

    test('a mail scanner opening the verification link (GET, HEAD) verifies nothing and leaves the link working', async () => {
      const email = 'scanned-link@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      const link = new URL(await verificationLink(running, email));
      const path = `${link.pathname}${link.search}`;
      const page = await api(running, 'GET', path);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self'/);
      assert.match(String(page.body), /<form method="post" action="verify-email">/);
      assert.doesNotMatch(String(page.body), /<script/i, 'the page works without script');
      const head = await fetch(`${running.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await login(running, email)).body.code, 'EMAIL_NOT_VERIFIED', 'nothing was verified');

      // The token was not spent: the API's JSON call with it still verifies, and answers JSON.
      const verified = await verify(running, link.searchParams.get('token') ?? '');
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.deepEqual(verified.body, { status: 'verified' });
      assert.equal((await login(running, email)).status, 200);
    });

    test('a form body reaches only the email links: a JSON route still refuses it', async () => {
      const response = await fetch(`${running.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: 'someone@example.com', password: PASSWORD }).toString(),
      });
      assert.equal(response.status, 415, await response.text());
    });

    test('a verification link expires after 24 hours', async () => {
      const email = 'slow-to-click@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      const [token] = await verificationTokens(running, email);
      assert.ok(token);
      running.clock.advance(24 * HOUR_MS);
      const late = await verify(running, token);
      assert.equal(late.status, 400, JSON.stringify(late.body));
      assert.match(late.body.detail, /expired/);
      assert.equal((await login(running, email)).body.code, 'EMAIL_NOT_VERIFIED');
    });

    test('a token minted for another purpose does not verify an email', async () => {
      const email = 'other-token@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      // Every security email carries a single-use "lock my account" token of the same shape.
      const [message] = await mailbox(running, email);
      const lockToken = /lock-account\?token=([A-Za-z0-9_-]+)/.exec(message?.text ?? '')?.[1];
      assert.ok(lockToken);
      const refused = await verify(running, lockToken);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal((await login(running, email)).body.code, 'EMAIL_NOT_VERIFIED');
    });

    test('sign-up with an existing email answers the same and tells the owner instead', async () => {
      const owner = 'taken@example.com';
      await signUpVerified(running, owner);
      const count = await countPrincipals(running);
      const fresh = await signUp(running, 'brand-new@example.com');
      const again = await signUp(running, owner, 'an attacker password');
      assert.equal(again.status, fresh.status);
      assert.deepEqual(again.body, fresh.body);
      assert.equal(await countPrincipals(running), count + 1);

      const events = (await mailbox(running, owner)).map((m) => m.event);
      assert.equal(events[0], 'account.signup_attempt', events.join(', '));
      assert.equal(events.filter((e) => e === 'account.verify_email').length, 1);
      // Nothing about the account changed: the owner's password still works, the attacker's does not.
      assert.equal((await login(running, owner)).status, 200);
      assert.equal((await login(running, owner, {}, 'an attacker password')).status, 401);
    });

    test('an address someone else signed up with first can still be claimed by its owner', async () => {
      const victim = 'squatted@example.com';
      assert.equal((await signUp(running, victim, 'the squatter password')).status, 202);
      running.clock.advance(25 * HOUR_MS); // the squatter's link has long expired
      assert.equal((await signUp(running, victim)).status, 202);
      const [ownerToken, squatterToken] = await verificationTokens(running, victim);
      assert.ok(ownerToken && squatterToken);
      assert.equal((await verify(running, ownerToken)).status, 200);
      assert.equal((await login(running, victim)).status, 200);
      assert.equal((await login(running, victim, {}, 'the squatter password')).status, 401);
      const id = await principalIdOf(running, victim);
      assert.ok((await auditActionsAbout(running, `customer:${id}`)).includes('account.signup_repeated'));
    });

    test('only the newest link verifies an address that was signed up for twice', async () => {
      const email = 'twice@example.com';
      assert.equal((await signUp(running, email)).status, 202);
      running.clock.advance(60_000);
      assert.equal((await signUp(running, email, 'the second password')).status, 202);
      const [newest, older] = await verificationTokens(running, email);
      assert.ok(newest && older);
      assert.equal((await verify(running, older)).status, 400);
      assert.equal((await verify(running, newest)).status, 200);
      assert.equal((await login(running, email, {}, 'the second password')).status, 200);
      assert.equal((await login(running, email)).status, 401);
    });
  });
}
