import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { startSecurityChangeLock } from '../../../src/services/identity/security-lock.ts';
import { sealAudit } from '../../../src/store/audit/index.ts';
import { inTransaction } from '../../../src/store/transaction.ts';
import {
  api,
  customerWithTotp,
  freshRateWindows,
  lastEmail,
  lockLinkOf,
  pressLinkButton,
  principalRow,
  registerSoftPasskey,
  stepUpToken,
} from '../../support/customers.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { SoftAuthenticator } from '../../support/soft-authenticator.ts';

const DAY_MS = 24 * 60 * 60_000;

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`security-change lock on ${engine}`, (on) => {
    const running = on.app();
    beforeEach(() => freshRateWindows(running));

    /** The change just made locked withdrawals for 24 h from now, and the email about it carries a lock link. */
    async function assertLockStarted(email: string, event: string, answered: string) {
      const expected = new Date(running.clock.now().getTime() + DAY_MS).toISOString();
      assert.equal(answered, expected, `${event}: the answer says until when`);
      assert.equal((await principalRow(running, email)).withdrawals_locked_until, expected, event);
      const told = await lastEmail(running, email, event);
      assert.match(told.text, new RegExp(`withdrawals are paused until ${expected.replaceAll('.', '\\.')}`));
      const link = lockLinkOf(told.text);
      assert.ok(
        told.html.includes(`/lock-account${new URL(link, running.url).search}`),
        `${event}: the HTML has the link too`,
      );
      return link;
    }

    test('every MFA change locks withdrawals for 24 h and emails a lock link', async () => {
      const customer = await customerWithTotp(running, 'changes@example.com');
      const enrolled = await lastEmail(running, customer.email, 'mfa.totp_enrolled');
      assert.ok(enrolled);
      const enrolledRow = await principalRow(running, customer.email);
      assert.equal(
        Date.parse(enrolledRow.withdrawals_locked_until ?? '') - Date.parse(enrolledRow.created_at),
        DAY_MS,
        'TOTP enrolment',
      );
      lockLinkOf(enrolled.text);

      running.clock.advance(10 * 60_000);
      const passkey = await registerSoftPasskey(
        running,
        customer.token,
        new SoftAuthenticator(),
        await stepUpToken(running, customer, 'mfa.enroll'),
      );
      await assertLockStarted(
        customer.email,
        'mfa.passkey_registered',
        passkey.body.withdrawals_locked_until,
      );

      running.clock.advance(60_000);
      const regenerated = await api(running, 'POST', '/v1/mfa/recovery-codes', {
        token: customer.token,
        body: { step_up_token: await stepUpToken(running, customer, 'recovery_codes.regenerate') },
      });
      assert.equal(regenerated.status, 200);
      await assertLockStarted(
        customer.email,
        'mfa.recovery_codes_regenerated',
        regenerated.body.withdrawals_locked_until,
      );

      running.clock.advance(60_000);
      const removed = await api(running, 'DELETE', `/v1/mfa/factors/${passkey.body.factor_id}`, {
        token: customer.token,
        body: { step_up_token: await stepUpToken(running, customer, 'mfa.remove') },
      });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      const link = await assertLockStarted(
        customer.email,
        'mfa.factor_removed',
        removed.body.withdrawals_locked_until,
      );

      const { pressed: locked } = await pressLinkButton(running, link);
      assert.equal(locked.status, 200, 'the link in a security email locks the account');
      await sealAudit(running.context.database);
      const audit = await running.context.database.db
        .selectFrom('audit_log')
        .select('action')
        .where('subject', '=', `customer:${(await principalRow(running, customer.email)).id}`)
        .execute();
      for (const event of [
        'mfa.totp_enrolled',
        'mfa.passkey_registered',
        'mfa.recovery_codes_regenerated',
        'mfa.factor_removed',
        'account.locked',
      ]) {
        assert.ok(
          audit.some((a) => a.action === event),
          `${event} is audited`,
        );
      }
    });

    test('a later change extends the lock, never shortens it', async () => {
      const customer = await customerWithTotp(running, 'extends@example.com');
      const first = (await principalRow(running, customer.email)).withdrawals_locked_until;
      const shorter = {
        ...running.context,
        settings: { ...running.context.settings, securityChangeLockMs: 60_000 },
      };
      const principal = await principalRow(running, customer.email);
      const kept = await inTransaction(running.context.database, (tx) =>
        startSecurityChangeLock(
          tx,
          shorter,
          principal,
          { event: 'account.password_reset', headline: 'test' },
          undefined,
        ),
      );
      assert.equal(kept, first);
      assert.equal((await principalRow(running, customer.email)).withdrawals_locked_until, first);
    });
  });
}
