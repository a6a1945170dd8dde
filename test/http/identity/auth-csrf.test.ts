import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { api, forgetRateLimits, login, signUpVerified } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

interface Issued {
  readonly token: string;
  readonly csrf: string;
  readonly setCookie: string;
}

async function signIn(running: RunningApp, email: string): Promise<Issued> {
  const response = await login(running, email);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('drawbridge_session='));
  assert.ok(setCookie, 'no session cookie was set');
  return { token: response.body.token, csrf: response.body.csrf_token, setCookie };
}

/** A request as a browser would send it: the cookie rides along, a header only if the page adds it. */
function withCookie(session: Issued, csrf?: string) {
  return {
    headers: {
      cookie: `drawbridge_session=${session.token}`,
      ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }),
    },
  };
}

async function stillSignedIn(running: RunningApp, session: Issued): Promise<boolean> {
  return (await api(running, 'GET', '/v1/account/sessions', { token: session.token })).status === 200;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`cross-site request forgery and browser hardening on ${engine}`, (on) => {
    const running = on.app();
    const email = 'csrf@example.com';
    before(async () => {
      await signUpVerified(running, email);
    });
    beforeEach(() => forgetRateLimits(running));

    test('the session cookie is HttpOnly, Secure and SameSite=Strict', async () => {
      const { setCookie } = await signIn(running, email);
      assert.match(setCookie, /; HttpOnly/i);
      assert.match(setCookie, /; Secure/i);
      assert.match(setCookie, /; SameSite=Strict/i);
      assert.match(setCookie, /; Path=\//i);
    });

    test('a cookie-authenticated change without the CSRF token is refused and changes nothing', async () => {
      const current = await signIn(running, email);
      const other = await signIn(running, email);
      const forged = await api(running, 'POST', '/v1/account/sessions/end-others', withCookie(current));
      assert.equal(forged.status, 403, JSON.stringify(forged.body));
      assert.equal(forged.body.code, 'CSRF_FAILED');
      assert.equal(forged.body.field, '/headers/x-csrf-token');
      assert.ok(await stillSignedIn(running, other), 'the forged request ended a session');

      // Another session's token (of the same customer) is not this session's token.
      const borrowed = await api(
        running,
        'POST',
        '/v1/account/sessions/end-others',
        withCookie(current, other.csrf),
      );
      assert.equal(borrowed.status, 403, JSON.stringify(borrowed.body));
      assert.ok(await stillSignedIn(running, other));

      const logout = await api(running, 'POST', '/v1/auth/logout', withCookie(current));
      assert.equal(logout.status, 403, JSON.stringify(logout.body));
      assert.ok(await stillSignedIn(running, current), 'a forged logout ended the session');

      const genuine = await api(
        running,
        'POST',
        '/v1/account/sessions/end-others',
        withCookie(current, current.csrf),
      );
      assert.equal(genuine.status, 200, JSON.stringify(genuine.body));
      assert.equal(await stillSignedIn(running, other), false);
    });

    test('reads with the cookie and changes with a Bearer token need no CSRF token', async () => {
      const current = await signIn(running, email);
      const other = await signIn(running, email);
      const read = await api(running, 'GET', '/v1/account/sessions', withCookie(current));
      assert.equal(read.status, 200, JSON.stringify(read.body));
      const bearer = await api(running, 'POST', '/v1/account/sessions/end-others', { token: current.token });
      assert.equal(bearer.status, 200, JSON.stringify(bearer.body));
      assert.equal(await stillSignedIn(running, other), false);
    });

    test('every answer carries the security headers, errors included', async () => {
      const answers = [
        await api(running, 'GET', '/healthz'),
        await api(running, 'GET', '/v1/no-such-route'),
        await api(running, 'POST', '/v1/auth/login', { body: { email: 'x' } }),
      ];
      for (const answer of answers) {
        assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
        const csp = answer.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.ok(answer.headers.get('strict-transport-security'), 'no HSTS header');
        assert.ok(answer.headers.get('x-frame-options'), 'no X-Frame-Options header');
      }
    });
  });
}
