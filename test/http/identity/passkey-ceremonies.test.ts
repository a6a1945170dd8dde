import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { sealAudit } from '../../../src/store/audit/index.ts';
import {
  api,
  customerWithoutFactors,
  freshRateWindows,
  login,
  PASSWORD,
  passkeyStepUpChallenge,
  passkeyStepUpToken,
  registerSoftPasskey,
  signUpVerified,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { TEST_ORIGIN } from '../../support/http.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`passkey ceremonies on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    /** A customer whose only factor is a passkey held by a fresh soft authenticator. */
    async function passkeyCustomer(email: string) {
      const token = await customerWithoutFactors(running, email);
      const authenticator = new SoftAuthenticator();
      const { credentialId, body } = await registerSoftPasskey(running, token, authenticator);
      return { email, token, authenticator, credentialId, registered: body };
    }

    function stepUp(token: string, action: string, challengeId: string, response: unknown) {
      return api(running, 'POST', '/v1/auth/step-up', {
        token,
        body: { action, proof: { method: 'passkey', challenge_id: challengeId, response } },
      });
    }

    async function loginChallenge(email: string) {
      const challenge = await api(running, 'POST', '/v1/auth/login/passkey-challenge', { body: { email } });
      assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
      return challenge.body;
    }

    test('register a passkey, then sign in and step up with it', async () => {
      const customer = await passkeyCustomer('passkey-owner@example.com');
      assert.equal(customer.registered.status, 'active');
      assert.equal(
        customer.registered.recovery_codes.length,
        10,
        'the first factor comes with recovery codes',
      );
      const factors = await api(running, 'GET', '/v1/mfa/factors', { token: customer.token });
      assert.deepEqual(
        factors.body.factors.map((f: { method: string }) => f.method),
        ['passkey'],
      );

      const withoutProof = await login(running, customer.email);
      assert.equal(withoutProof.status, 401);
      assert.equal(withoutProof.body.code, 'MFA_REQUIRED');

      const challenge = await loginChallenge(customer.email);
      assert.deepEqual(
        challenge.options.allowCredentials.map((c: { id: string }) => c.id),
        [customer.credentialId],
      );
      const signedIn = await login(running, customer.email, {
        proof: {
          method: 'passkey',
          challenge_id: challenge.challenge_id,
          response: customer.authenticator.getAssertion(challenge.options, TEST_ORIGIN),
        },
      });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.aal, 2);

      const proof = await passkeyStepUpToken(
        running,
        signedIn.body.token,
        customer.authenticator,
        'anti_phishing.set',
      );
      const set = await api(running, 'PUT', '/v1/account/anti-phishing-code', {
        token: signedIn.body.token,
        body: { code: 'passkey-proved', step_up_token: proof },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
    });

    test('a passkey sign-in challenge does not tell whether the email has an account', async () => {
      await passkeyCustomer('has-passkey@example.com');
      await customerWithoutFactors(running, 'no-passkey@example.com');
      const real = await loginChallenge('has-passkey@example.com');
      const shapes = [];
      for (const email of ['has-passkey@example.com', 'no-passkey@example.com', 'nobody@example.com']) {
        const first = await loginChallenge(email);
        const second = await loginChallenge(email);
        assert.deepEqual(
          first.options.allowCredentials,
          second.options.allowCredentials,
          `${email}: the listed credentials are the same on every call`,
        );
        assert.notEqual(first.challenge_id, second.challenge_id);
        shapes.push({
          keys: Object.keys(first).sort(),
          optionKeys: Object.keys(first.options).sort(),
          credentials: first.options.allowCredentials.length,
          idLength: first.options.allowCredentials[0].id.length,
          challengeIdLength: first.challenge_id.length,
          expiresIn: Date.parse(first.expires_at) - running.clock.now().getTime(),
          rpId: first.options.rpId,
        });
      }
      assert.deepEqual(shapes[1], shapes[0]);
      assert.deepEqual(shapes[2], shapes[0]);

      // The decoy's challenge id is worth nothing, and says so like any wrong second factor.
      const decoy = await loginChallenge('no-passkey@example.com');
      const holder = await passkeyCustomer('decoy-probe@example.com');
      const holderChallenge = await loginChallenge(holder.email);
      const refused = await login(running, 'no-passkey@example.com', {
        proof: {
          method: 'passkey',
          challenge_id: decoy.challenge_id,
          response: holder.authenticator.getAssertion(holderChallenge.options, TEST_ORIGIN),
        },
      });
      assert.equal(refused.status, 401);
      assert.notEqual(real.challenge_id, decoy.challenge_id);
    });

    test('a passkey assertion replayed with the same counter is refused', async () => {
      const customer = await passkeyCustomer('counter@example.com');
      const first = await passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const accepted = await stepUp(
        customer.token,
        'anti_phishing.set',
        first.challenge_id,
        customer.authenticator.getAssertion(first.options, TEST_ORIGIN),
      );
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      const usedCounter = customer.authenticator.counterOf(customer.credentialId);

      const second = await passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const cloned = await stepUp(
        customer.token,
        'anti_phishing.set',
        second.challenge_id,
        customer.authenticator.getAssertion(second.options, TEST_ORIGIN, { counter: usedCounter }),
      );
      assert.equal(cloned.status, 401, JSON.stringify(cloned.body));
      assert.equal(cloned.body.code, 'INVALID_CREDENTIALS');
      assert.equal(cloned.body.step_up_token, undefined);
      await sealAudit(running.context.database);
      const refusals = await running.context.database.db
        .selectFrom('audit_log')
        .select('data')
        .where('action', '=', 'mfa.failed')
        .execute();
      assert.ok(refusals.some((r) => r.data.includes('passkey_unauthenticated')));

      const third = await passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const honest = await stepUp(
        customer.token,
        'anti_phishing.set',
        third.challenge_id,
        customer.authenticator.getAssertion(third.options, TEST_ORIGIN),
      );
      assert.equal(honest.status, 200, 'a higher counter is accepted again');
    });

    test("an assertion for another action's challenge is refused; the challenge stays good for its own", async () => {
      const customer = await passkeyCustomer('other-action@example.com');
      const forPhishing = await passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const forPolicy = await passkeyStepUpChallenge(running, customer.token, 'mfa.policy');
      assert.notEqual(forPhishing.options.challenge, forPolicy.options.challenge);
      const signed = customer.authenticator.getAssertion(forPhishing.options, TEST_ORIGIN);

      const otherChallenge = await stepUp(customer.token, 'mfa.policy', forPolicy.challenge_id, signed);
      assert.equal(otherChallenge.status, 401, 'signed over another challenge');
      const otherAction = await stepUp(customer.token, 'mfa.policy', forPhishing.challenge_id, signed);
      assert.equal(otherAction.status, 401, 'a challenge issued for another action');

      const ownAction = await stepUp(customer.token, 'anti_phishing.set', forPhishing.challenge_id, signed);
      assert.equal(ownAction.status, 200, JSON.stringify(ownAction.body));
      const spent = await api(running, 'PUT', '/v1/account/mfa-policy', {
        token: customer.token,
        body: { action: 'login', required: false, step_up_token: ownAction.body.step_up_token },
      });
      assert.equal(spent.status, 403, 'the proof names anti_phishing.set only');
    });

    test('a passkey challenge id is single-use', async () => {
      const customer = await passkeyCustomer('single-challenge@example.com');
      const challenge = await passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const first = await stepUp(
        customer.token,
        'anti_phishing.set',
        challenge.challenge_id,
        customer.authenticator.getAssertion(challenge.options, TEST_ORIGIN),
      );
      assert.equal(first.status, 200);
      const again = await stepUp(
        customer.token,
        'anti_phishing.set',
        challenge.challenge_id,
        customer.authenticator.getAssertion(challenge.options, TEST_ORIGIN),
      );
      assert.equal(again.status, 401, 'a fresh signature over a spent challenge');

      const loginOnce = await loginChallenge(customer.email);
      const assertion = () => customer.authenticator.getAssertion(loginOnce.options, TEST_ORIGIN);
      const signedIn = await login(running, customer.email, {
        proof: { method: 'passkey', challenge_id: loginOnce.challenge_id, response: assertion() },
      });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      const replayed = await login(running, customer.email, {
        proof: { method: 'passkey', challenge_id: loginOnce.challenge_id, response: assertion() },
      });
      assert.equal(replayed.status, 401);

      const registration = await api(running, 'POST', '/v1/mfa/passkeys/options', {
        token: customer.token,
        body: {
          step_up_token: await passkeyStepUpToken(
            running,
            customer.token,
            customer.authenticator,
            'mfa.enroll',
          ),
        },
      });
      assert.equal(registration.status, 200, JSON.stringify(registration.body));
      const second = new SoftAuthenticator();
      const registered = await api(running, 'POST', '/v1/mfa/passkeys', {
        token: customer.token,
        body: {
          challenge_id: registration.body.challenge_id,
          response: second.createCredential(registration.body.options, TEST_ORIGIN),
        },
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      const reused = await api(running, 'POST', '/v1/mfa/passkeys', {
        token: customer.token,
        body: {
          challenge_id: registration.body.challenge_id,
          response: new SoftAuthenticator().createCredential(registration.body.options, TEST_ORIGIN),
        },
      });
      assert.equal(reused.status, 400);
      assert.equal(reused.body.field, '/body/challenge_id');
    });

    test('garbage or oversized WebAuthn input gets a 4xx problem naming the field, never a 5xx', async () => {
      const customer = await passkeyCustomer('garbage@example.com');
      const good = () => passkeyStepUpChallenge(running, customer.token, 'anti_phishing.set');
      const challenge = await good();
      const valid = customer.authenticator.getAssertion(challenge.options, TEST_ORIGIN);
      const cases: [string, unknown, RegExp][] = [
        ['not an object', 'garbage', /^\/body\/proof\/response$/],
        ['bad id', { ...valid, id: '***', rawId: '***' }, /^\/body\/proof\/response\/id$/],
        [
          'padded base64',
          { ...valid, response: { ...valid.response, signature: `${valid.response.signature}==` } },
          /^\/body\/proof\/response\/response\/signature$/,
        ],
        [
          'client data not JSON',
          {
            ...valid,
            response: { ...valid.response, clientDataJSON: Buffer.from('{oops').toString('base64url') },
          },
          /^\/body\/proof\/response\/response\/clientDataJSON$/,
        ],
        [
          'oversized field',
          { ...valid, response: { ...valid.response, authenticatorData: 'A'.repeat(20_000) } },
          /^\/body\/proof\/response\/response\/authenticatorData$/,
        ],
      ];
      for (const [name, response, field] of cases) {
        const refused = await stepUp(customer.token, 'anti_phishing.set', challenge.challenge_id, response);
        assert.equal(refused.status, 400, `${name}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'INVALID_INPUT');
        assert.match(refused.body.field, field, name);
      }
      const accepted = await stepUp(customer.token, 'anti_phishing.set', challenge.challenge_id, valid);
      assert.equal(accepted.status, 200, 'bad input spent neither the challenge nor a failure count');

      const huge = await stepUp(customer.token, 'anti_phishing.set', challenge.challenge_id, {
        ...valid,
        response: { ...valid.response, signature: 'A'.repeat(70_000) },
      });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.field, '/body');

      const options = await api(running, 'POST', '/v1/mfa/passkeys/options', {
        token: customer.token,
        body: {
          step_up_token: await passkeyStepUpToken(
            running,
            customer.token,
            customer.authenticator,
            'mfa.enroll',
          ),
        },
      });
      const registration = new SoftAuthenticator().createCredential(options.body.options, TEST_ORIGIN);
      for (const response of [
        'garbage',
        { ...registration, response: { ...registration.response, attestationObject: '!!!' } },
        { ...registration, response: { ...registration.response, clientDataJSON: 'A'.repeat(17_000) } },
      ]) {
        const refused = await api(running, 'POST', '/v1/mfa/passkeys', {
          token: customer.token,
          body: { challenge_id: options.body.challenge_id, response },
        });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.match(refused.body.field, /^\/body\/response/);
      }

      const loginGarbage = await login(running, customer.email, {
        proof: { method: 'passkey', challenge_id: 'x', response: { id: 42 } },
      });
      assert.ok(loginGarbage.status >= 400 && loginGarbage.status < 500, JSON.stringify(loginGarbage.body));
      const wrongPassword = await api(running, 'POST', '/v1/auth/login', {
        body: {
          email: customer.email,
          password: `${PASSWORD}!`,
          proof: { method: 'passkey', challenge_id: 'x' },
        },
      });
      // The shape is checked before the password, so the answer says nothing about the password either way.
      assert.equal(wrongPassword.status, 400, JSON.stringify(wrongPassword.body));
      assert.match(wrongPassword.body.field, /^\/body\/proof\/response/);
    });

    test('a verified customer without passkeys can still add one as a second factor', async () => {
      await signUpVerified(running, 'late-passkey@example.com');
      const session = await login(running, 'late-passkey@example.com');
      const { body } = await registerSoftPasskey(running, session.body.token, new SoftAuthenticator());
      assert.ok(Date.parse(body.withdrawals_locked_until) > running.clock.now().getTime());
      const sessions = await api(running, 'GET', '/v1/account/sessions', { token: session.body.token });
      assert.equal(sessions.body.sessions[0].aal, 2, 'registering the first factor raises the session');
    });
  });
}
