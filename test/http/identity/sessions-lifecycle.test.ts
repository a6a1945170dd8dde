import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { api, forgetRateLimits, login, mailbox, signUpVerified } from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import type { RunningApp } from '../../support/http.ts';

const MINUTE_MS = 60_000;

async function signIn(running: RunningApp, email: string, device?: Record<string, unknown>) {
  const response = await login(running, email, device === undefined ? {} : { device });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { session_id: string; token: string; csrf_token: string; expires_at: string };
}

async function sessionsSeenBy(running: RunningApp, token: string) {
  return api(running, 'GET', '/v1/account/sessions', { token });
}

async function assertSignedOut(running: RunningApp, token: string, detail?: RegExp) {
  const response = await sessionsSeenBy(running, token);
  assert.equal(response.status, 401, JSON.stringify(response.body));
  assert.equal(response.body.code, 'UNAUTHENTICATED');
  if (detail !== undefined) assert.match(response.body.detail, detail);
}

async function assertSignedIn(running: RunningApp, token: string) {
  const response = await sessionsSeenBy(running, token);
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`session life cycle on ${engine}`, (on) => {
    const running = on.app();
    const alice = 'alice.sessions@example.com';
    const bob = 'bob.sessions@example.com';
    before(async () => {
      await signUpVerified(running, alice);
      await signUpVerified(running, bob);
    });
    beforeEach(() => forgetRateLimits(running));

    test('a session left idle for 30 minutes is refused; use keeps it alive', async () => {
      const session = await signIn(running, alice);
      for (let i = 0; i < 3; i++) {
        running.clock.advance(29 * MINUTE_MS);
        await assertSignedIn(running, session.token);
      }
      running.clock.advance(30 * MINUTE_MS);
      await assertSignedOut(running, session.token, /idle/);
    });

    test('a session in constant use still ends 12 hours after sign-in', async () => {
      const signedInAt = running.clock.now().getTime();
      const session = await signIn(running, alice);
      assert.equal(Date.parse(session.expires_at), signedInAt + 12 * 60 * MINUTE_MS);
      for (let elapsed = 25; elapsed < 12 * 60; elapsed += 25) {
        running.clock.advance(25 * MINUTE_MS);
        await assertSignedIn(running, session.token);
      }
      running.clock.set(new Date(signedInAt + 12 * 60 * MINUTE_MS));
      await assertSignedOut(running, session.token, /expired/);
    });

    test('logout ends the session for good', async () => {
      const session = await signIn(running, alice);
      const out = await api(running, 'POST', '/v1/auth/logout', { token: session.token });
      assert.equal(out.status, 204, JSON.stringify(out.body));
      await assertSignedOut(running, session.token, /ended/);
      const again = await api(running, 'POST', '/v1/auth/logout', { token: session.token });
      assert.equal(again.status, 401);
    });

    test('a customer lists only their own sessions and devices, the current one marked', async () => {
      const first = await signIn(running, alice, { id: 'alice-phone-0001', platform: 'ios' });
      const second = await signIn(running, alice, { id: 'alice-laptop-0002', platform: 'macos' });
      const bobs = await signIn(running, bob, { id: 'bob-phone-00000001', platform: 'android' });
      const listed = await sessionsSeenBy(running, first.token);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const sessions = listed.body.sessions as { id: string; current: boolean; ended_at: string | null }[];
      const ids = sessions.map((s) => s.id);
      assert.ok(ids.includes(first.session_id) && ids.includes(second.session_id));
      assert.ok(!ids.includes(bobs.session_id), 'another customer’s session is listed');
      assert.deepEqual(
        sessions.filter((s) => s.current).map((s) => s.id),
        [first.session_id],
      );
      const platforms = (listed.body.devices as { platform: string }[]).map((d) => d.platform).sort();
      assert.deepEqual(platforms, ['ios', 'macos']);
    });

    test('ending one session ends that one only, and never another customer’s', async () => {
      const keep = await signIn(running, alice);
      const lost = await signIn(running, alice);
      const bobs = await signIn(running, bob);
      const notMine = await api(running, 'DELETE', `/v1/account/sessions/${bobs.session_id}`, {
        token: keep.token,
      });
      assert.equal(notMine.status, 404, JSON.stringify(notMine.body));
      await assertSignedIn(running, bobs.token);

      const ended = await api(running, 'DELETE', `/v1/account/sessions/${lost.session_id}`, {
        token: keep.token,
      });
      assert.equal(ended.status, 204, JSON.stringify(ended.body));
      await assertSignedOut(running, lost.token);
      await assertSignedIn(running, keep.token);
    });

    test('ending all other sessions keeps the current one working', async () => {
      const current = await signIn(running, alice);
      const others = [await signIn(running, alice), await signIn(running, alice)];
      const bobs = await signIn(running, bob);
      const ended = await api(running, 'POST', '/v1/account/sessions/end-others', { token: current.token });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      assert.ok(ended.body.ended >= 2);
      for (const other of others) await assertSignedOut(running, other.token);
      await assertSignedIn(running, current.token);
      await assertSignedIn(running, bobs.token);
    });

    test('a new device is told by email once; a jailbroken self-report stays recorded as such', async () => {
      const email = 'devices@example.com';
      await signUpVerified(running, email);
      const newDeviceEmails = async () =>
        (await mailbox(running, email)).filter((m) => m.event === 'device.new').length;

      await signIn(running, email, { id: 'device-ios-000001', platform: 'ios' });
      assert.equal(await newDeviceEmails(), 1);
      await signIn(running, email, { id: 'device-ios-000001', platform: 'ios' });
      assert.equal(await newDeviceEmails(), 1, 'a known device is not new');

      await signIn(running, email, { id: 'device-rooted-0002', platform: 'android', jailbroken: true });
      assert.equal(await newDeviceEmails(), 2);
      // The same device saying it is fine now does not wash the record.
      const last = await signIn(running, email, {
        id: 'device-rooted-0002',
        platform: 'android',
        jailbroken: false,
      });
      const listed = await sessionsSeenBy(running, last.token);
      const devices = listed.body.devices as {
        platform: string;
        integrity: string;
        integrity_source: string;
      }[];
      const android = devices.find((d) => d.platform === 'android');
      assert.deepEqual(
        { integrity: android?.integrity, source: android?.integrity_source },
        { integrity: 'jailbroken', source: 'self_reported' },
      );
      assert.equal(devices.find((d) => d.platform === 'ios')?.integrity, 'unknown');
      await sealAudit(running.context.database);
      const rows = await running.context.database.db
        .selectFrom('audit_log')
        .select('data')
        .where('action', '=', 'device.new')
        .execute();
      assert.ok(rows.some((r) => JSON.parse(r.data).integrity === 'jailbroken'));
    });

    test('a device report that is not well formed is refused, and no session is issued', async () => {
      const countSessions = async () =>
        (await running.context.database.db.selectFrom('sessions').select('id').execute()).length;
      const before = await countSessions();
      for (const device of [
        { id: 'short', platform: 'ios' },
        { id: 'device-ios-000001', platform: 'ios', jailbroken: 'yes' },
        { id: 'device ios with spaces', platform: 'ios' },
      ]) {
        const refused = await login(running, alice, { device });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.match(refused.body.field, /device/);
      }
      assert.equal(await countSessions(), before);
    });
  });
}
