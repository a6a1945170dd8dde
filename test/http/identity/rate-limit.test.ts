import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type ApiResponse, api, countPrincipals, login, signUpVerified } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Moves the clock to the start of the next fixed window of `window_ms`, so a test owns a whole window. */
function startOfNextWindow(running: RunningApp, window_ms: number): void {
  const now = running.clock.now().getTime();
  running.clock.set(new Date((Math.floor(now / window_ms) + 1) * window_ms));
}

function assertRateLimited(answer: ApiResponse, retryAfterS: number, label = ''): void {
  assert.equal(answer.status, 429, `${label} ${JSON.stringify(answer.body)}`);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(answer.body.code, 'RATE_LIMITED');
  assert.equal(answer.body.status, 429);
  assert.equal(answer.headers.get('retry-after'), String(retryAfterS));
  assert.equal(answer.body.retry_after_s, retryAfterS);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`rate limits on ${engine}`, (on) => {
    const running = on.app();
    const victim = 'victim@example.com';
    const bystander = 'bystander@example.com';
    before(async () => {
      await signUpVerified(running, victim);
      await signUpVerified(running, bystander);
    });

    test('the 11th login attempt for one account within a minute is refused, even with the password', async () => {
      startOfNextWindow(running, MINUTE_MS);
      // Case variants of the address are the same account and share its count.
      for (const [i, email] of ['victim@example.com', 'Victim@Example.com', 'VICTIM@EXAMPLE.COM'].entries()) {
        for (let k = 0; k < (i === 0 ? 4 : 3); k++) {
          const guess = await login(running, email, {}, `guess number ${i}-${k} here`);
          assert.equal(guess.status, 401, JSON.stringify(guess.body));
        }
      }
      assertRateLimited(await login(running, victim), 60, 'the 11th');
      running.clock.advance(15_000);
      assertRateLimited(await login(running, victim), 45, 'the 12th');

      // Another account from the same address is not punished for the victim's attackers.
      assert.equal((await login(running, bystander)).status, 200);
      running.clock.advance(45_000);
      assert.equal((await login(running, victim)).status, 200);
    });

    test('one address may try at most 30 logins a minute, over any accounts', async () => {
      startOfNextWindow(running, MINUTE_MS);
      for (let i = 0; i < 30; i++) {
        const guess = await login(running, `stuffed-${i}@example.com`, {}, 'password from a breach');
        assert.equal(guess.status, 401, JSON.stringify(guess.body));
      }
      assertRateLimited(await login(running, bystander), 60, 'the 31st');
    });

    test('one address may sign up at most 10 times an hour; the 11th stores nothing', async () => {
      startOfNextWindow(running, HOUR_MS);
      const before = await countPrincipals(running);
      for (let i = 0; i < 10; i++) {
        const created = await api(running, 'POST', '/v1/auth/signup', {
          body: { email: `bulk-${i}@example.com`, password: 'a perfectly fine password' },
        });
        assert.equal(created.status, 202, JSON.stringify(created.body));
      }
      running.clock.advance(30 * MINUTE_MS);
      const refused = await api(running, 'POST', '/v1/auth/signup', {
        body: { email: 'bulk-10@example.com', password: 'a perfectly fine password' },
      });
      assertRateLimited(refused, 30 * 60, 'the 11th sign-up');
      assert.equal(await countPrincipals(running), before + 10);
      running.clock.advance(30 * MINUTE_MS);
      const later = await api(running, 'POST', '/v1/auth/signup', {
        body: { email: 'bulk-10@example.com', password: 'a perfectly fine password' },
      });
      assert.equal(later.status, 202, JSON.stringify(later.body));
    });

    test('guessing verification links is cut off after 20 tries an hour', async () => {
      startOfNextWindow(running, HOUR_MS);
      for (let i = 0; i < 20; i++) {
        const guess = await api(running, 'POST', '/v1/auth/verify-email', {
          body: { token: `${String(i).padStart(2, '0')}${'A'.repeat(41)}` },
        });
        assert.equal(guess.status, 400, JSON.stringify(guess.body));
      }
      const refused = await api(running, 'POST', '/v1/auth/verify-email', {
        body: { token: 'B'.repeat(43) },
      });
      assertRateLimited(refused, 60 * 60, 'the 21st guess');
    });
  });
}
