import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { revokeSessions } from '../../../src/services/identity/revocation.ts';
import { actingAs } from '../../support/actors.ts';
import {
  api,
  auditActionsAbout,
  forgetRateLimits,
  login,
  principalIdOf,
  signUpVerified,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

async function signIn(running: RunningApp, email: string): Promise<string> {
  const response = await login(running, email);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.token;
}

async function statusOf(running: RunningApp, token: string): Promise<number> {
  return (await api(running, 'GET', '/v1/account/sessions', { token })).status;
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`mass session revocation on ${engine}`, (on) => {
    const running = on.app();
    const alice = 'alice.revoked@example.com';
    const bob = 'bob.revoked@example.com';
    before(async () => {
      await signUpVerified(running, alice);
      await signUpVerified(running, bob);
    });
    beforeEach(() => forgetRateLimits(running));

    test('a session used after revoke-all is refused; signing in again works', async () => {
      const tokens = [await signIn(running, alice), await signIn(running, alice), await signIn(running, bob)];
      for (const token of tokens) assert.equal(await statusOf(running, token), 200);

      const result = await revokeSessions(running.context, actingAs('incident_commander'), { all: true });
      assert.equal(result.scope, 'all');
      for (const token of tokens) {
        const refused = await api(running, 'GET', '/v1/account/sessions', { token });
        assert.equal(refused.status, 401, JSON.stringify(refused.body));
        assert.match(refused.body.detail, /revoked/);
      }
      assert.ok((await auditActionsAbout(running, 'platform')).includes('security.revoke_all_sessions'));

      const again = await signIn(running, alice);
      assert.equal(await statusOf(running, again), 200);
      // A second revoke-all ends the sessions made after the first one too.
      await revokeSessions(running.context, actingAs('incident_commander'), { all: true });
      assert.equal(await statusOf(running, again), 401);
    });

    test('revoking one customer’s sessions ends theirs only', async () => {
      const alices = [await signIn(running, alice), await signIn(running, alice)];
      const bobs = await signIn(running, bob);
      const aliceId = await principalIdOf(running, alice);
      await revokeSessions(running.context, actingAs('incident_commander'), { customer_id: aliceId });
      for (const token of alices) assert.equal(await statusOf(running, token), 401);
      assert.equal(await statusOf(running, bobs), 200);
      assert.ok(
        (await auditActionsAbout(running, `customer:${aliceId}`)).includes('security.revoke_sessions'),
      );
      const again = await signIn(running, alice);
      assert.equal(await statusOf(running, again), 200);
    });
  });
}
