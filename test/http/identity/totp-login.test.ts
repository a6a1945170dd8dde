import assert from 'node:assert/strict';
import { before, beforeEach, describe, test } from 'node:test';
import { totpAt } from '../../../src/core/mfa/totp.ts';
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
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

const STEP_MS = 30_000;
const MINUTE_MS = 60_000;

/** A six-digit code that is right for no step within three of now, so it is wrong whatever the drift window. */
function wrongCode(running: RunningApp, secret: string): string {
  const near = new Set<string>();
  for (let k = -3; k <= 3; k++)
    near.add(totpAt(secret, new Date(running.clock.now().getTime() + k * STEP_MS)));
  for (let candidate = 123_456; ; candidate = (candidate + 111_111) % 1_000_000) {
    const code = String(candidate).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

function withTotp(code: string) {
  return { proof: { method: 'totp', code } };
}

async function emailEvents(running: RunningApp, email: string): Promise<string[]> {
  return (await mailbox(running, email)).map((m) => m.event);
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`TOTP at login and step-up on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => forgetRateLimits(running));

    // Shared by the tests that leave it as they found it: each ends with a right code, so no failures carry over.
    let alice: Customer;
    before(async () => {
      alice = await customerWithTotp(running, 'alice.totp@example.com');
    });

    test('the service accepts the RFC 6238 code computed from the secret in the otpauth URI', async () => {
      // customerWithTotp reads the secret from the otpauth:// URI and confirms with totpAt (the function the
      // RFC 6238 Appendix B vectors run through); logging in with the next step's code closes the loop.
      const customer = alice;
      const signedIn = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.aal, 2);
    });

    test('a replayed TOTP code is refused, recorded and told to the customer', async () => {
      const customer = alice;
      const id = await principalIdOf(running, customer.email);
      const code = nextTotp(running, customer.secret);
      const first = await login(running, customer.email, withTotp(code));
      assert.equal(first.status, 200, JSON.stringify(first.body));

      // The same code, in the same 30 s step: a second login, then a step-up on another session than the one it
      // opened (the session that used it may type it again: totp-same-code.test.ts).
      const again = await login(running, customer.email, withTotp(code));
      assert.equal(again.status, 401);
      assert.equal(again.body.code, 'INVALID_CREDENTIALS');
      const stepUp = await api(running, 'POST', '/v1/auth/step-up', {
        token: customer.token,
        body: { action: 'anti_phishing.set', proof: { method: 'totp', code } },
      });
      assert.equal(stepUp.status, 401, JSON.stringify(stepUp.body));
      assert.equal(stepUp.body.code, 'INVALID_CREDENTIALS');

      const actions = await auditActionsAbout(running, `customer:${id}`);
      assert.equal(actions.filter((a) => a === 'mfa.totp_replay_refused').length, 2);
      const events = await emailEvents(running, customer.email);
      assert.ok(events.includes('mfa.totp_replay_refused'), events.join(', '));

      // The next step's code still works: a replay burns nothing of the customer's.
      const fresh = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    });

    test('a code one step too old or too new beyond the allowed drift is refused', async () => {
      const customer = alice;
      const id = await principalIdOf(running, customer.email);
      // Far from the enrolment step, so no candidate below is refused as a replay instead of as drift.
      const failedBefore = (await auditActionsAbout(running, `customer:${id}`)).filter(
        (a) => a === 'mfa.failed',
      ).length;
      running.clock.advance(10 * MINUTE_MS);
      const now = running.clock.now().getTime();
      const codeAt = (steps: number) => totpAt(customer.secret, new Date(now + steps * STEP_MS));

      for (const steps of [-2, +2]) {
        const refused = await login(running, customer.email, withTotp(codeAt(steps)));
        assert.equal(refused.status, 401, `${steps} steps: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'INVALID_CREDENTIALS');
      }
      const actions = await auditActionsAbout(running, `customer:${id}`);
      assert.equal(actions.filter((a) => a === 'mfa.failed').length, failedBefore + 2);

      const late = await login(running, customer.email, withTotp(codeAt(-1)));
      assert.equal(late.status, 200, `-1 step: ${JSON.stringify(late.body)}`);
      const early = await login(running, customer.email, withTotp(codeAt(+1)));
      assert.equal(early.status, 200, `+1 step: ${JSON.stringify(early.body)}`);
    });

    test('a login where password and code are right and wrong in turn reveals nothing about which', async () => {
      const customer = alice;
      running.clock.advance(MINUTE_MS);
      const right = totpAt(customer.secret, running.clock.now());
      const wrong = wrongCode(running, customer.secret);
      const attempts = [
        await login(running, customer.email, withTotp(wrong)),
        await login(running, customer.email, withTotp(right), 'not the password at all'),
        await login(running, customer.email, withTotp(wrong), 'not the password at all'),
        await login(running, 'nobody-here@example.com', withTotp(right)),
      ];
      const shapes = attempts.map((a) => {
        const { request_id, instance, ...rest } = a.body;
        assert.equal(typeof request_id, 'string');
        assert.equal(instance, '/v1/auth/login');
        return JSON.stringify({ status: a.status, type: a.headers.get('content-type'), body: rest });
      });
      assert.equal(attempts[0]?.status, 401);
      assert.equal(attempts[0]?.body.code, 'INVALID_CREDENTIALS');
      for (const shape of shapes) assert.equal(shape, shapes[0]);

      // A wrong password never reaches the second factor, so it burns no code: the same one still signs in.
      const signedIn = await login(running, customer.email, withTotp(right));
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    });

    test('only consecutive failures count: a right code in between starts the count again', async () => {
      const customer = alice;
      for (const round of [1, 2]) {
        for (let i = 0; i < 4; i++) {
          const wrong = await login(running, customer.email, withTotp(wrongCode(running, customer.secret)));
          assert.equal(wrong.status, 401, `round ${round}, try ${i}: ${JSON.stringify(wrong.body)}`);
        }
        const right = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
        assert.equal(right.status, 200, `round ${round}: ${JSON.stringify(right.body)}`);
      }
    });

    describe('the sixth failure', () => {
      let customer: Customer;
      async function failFiveTimes() {
        for (let i = 0; i < 5; i++) {
          const wrong = await login(running, customer.email, withTotp(wrongCode(running, customer.secret)));
          assert.equal(wrong.status, 401, `failure ${i + 1}: ${JSON.stringify(wrong.body)}`);
          assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
        }
      }
      async function expectLocked(code: string) {
        const locked = await login(running, customer.email, withTotp(code));
        assert.equal(locked.status, 429, JSON.stringify(locked.body));
        assert.equal(locked.body.code, 'MFA_LOCKED');
      }
      before(async () => {
        customer = await customerWithTotp(running, 'sixth@example.com');
      });

      test('five wrong second factors lock them, even against a right code, for a growing time', async () => {
        await failFiveTimes();
        await expectLocked(nextTotp(running, customer.secret));
        const events = await emailEvents(running, customer.email);
        assert.equal(events.filter((e) => e === 'mfa.locked').length, 1, events.join(', '));
        // Step-up on an existing session answers to the same lock.
        const stepUp = await api(running, 'POST', '/v1/auth/step-up', {
          token: customer.token,
          body: {
            action: 'anti_phishing.set',
            proof: { method: 'totp', code: nextTotp(running, customer.secret) },
          },
        });
        assert.equal(stepUp.status, 429, JSON.stringify(stepUp.body));
        assert.equal(stepUp.body.code, 'MFA_LOCKED');

        // The first lock lasts 5 minutes: 60 s have passed, still locked at 4.5 min, open after 5.
        running.clock.advance(3 * MINUTE_MS);
        await expectLocked(nextTotp(running, customer.secret));
        running.clock.advance(MINUTE_MS);
        const open = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
        assert.equal(open.status, 200, JSON.stringify(open.body));

        // The second lock lasts twice as long: still locked after 5 minutes, open after 10.
        await failFiveTimes();
        await expectLocked(nextTotp(running, customer.secret));
        running.clock.advance(5 * MINUTE_MS);
        await expectLocked(nextTotp(running, customer.secret));
        running.clock.advance(4 * MINUTE_MS);
        const reopened = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
        assert.equal(reopened.status, 200, JSON.stringify(reopened.body));
        const later = await emailEvents(running, customer.email);
        assert.equal(later.filter((e) => e === 'mfa.locked').length, 2, later.join(', '));
      });
    });

    test('wrong codes sent all at once cannot dodge the lock', async () => {
      const customer = await customerWithTotp(running, 'parallel@example.com');
      running.clock.advance(MINUTE_MS);
      const wrong = wrongCode(running, customer.secret);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => login(running, customer.email, withTotp(wrong))),
      );
      // Exactly five guesses are judged; every later one meets the lock, however they interleave.
      const judged = answers.filter((a) => a.status === 401 && a.body.code === 'INVALID_CREDENTIALS');
      const refused = answers.filter((a) => a.status === 429 && a.body.code === 'MFA_LOCKED');
      assert.equal(judged.length, 5, answers.map((a) => a.body.code).join(', '));
      assert.equal(refused.length, 3);
      const locked = await login(running, customer.email, withTotp(nextTotp(running, customer.secret)));
      assert.equal(locked.status, 429, JSON.stringify(locked.body));
      assert.equal(locked.body.code, 'MFA_LOCKED');
    });
  });
}
