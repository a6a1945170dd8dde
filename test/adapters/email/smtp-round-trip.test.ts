import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { devMailboxSender } from '../../../src/adapters/email/email-sender.ts';
import { smtpSender } from '../../../src/adapters/email/smtp-sender.ts';
import { ManualClock } from '../../../src/core/clock.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { deliveryLogOf } from '../../../src/store/outbox-delivery.ts';
import { eachEngine } from '../../support/each-engine.ts';
import { freshDatabase } from '../../support/engines.ts';
import { testContext } from '../../support/http.ts';
import {
  customerWithCode,
  dispatcherFor,
  outboxRow,
  readableMime,
  securityEmail,
  startSmtpSink,
} from '../../workers/outbox-world.ts';

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(`security email over SMTP on ${engine}`, () => {
    test('a security email reaches a real SMTP server with the anti-phishing code and the lock link', async () => {
      const fresh = await freshDatabase(engine);
      const sink = await startSmtpSink();
      const email = smtpSender({ url: sink.url, from: 'Drawbridge <security@drawbridge.test>' });
      try {
        const context = testContext(fresh.database, new ManualClock('2026-11-27T12:00:00.000Z'));
        const customer = await customerWithCode(context, 'alice@example.com', 'Blue Heron 42');
        const queued = await securityEmail(context, customer);

        const report = await dispatcherFor(context, { email }).runOnce();
        const why = `last error: ${(await outboxRow(context, queued.id)).last_error}`;
        assert.deepEqual(report, { claimed: 1, delivered: 1, retried: 0, failed: 0, held: 0 }, why);

        assert.equal(sink.messages.length, 1);
        const [message] = sink.messages;
        assert.deepEqual(message!.to, ['alice@example.com']);
        const text = readableMime(message!.raw);
        assert.match(text, /Anti-phishing code: Blue Heron 42/);
        const lockLink = /http:\/\/127\.0\.0\.1:8080\/lock-account\?token=[A-Za-z0-9_-]+/.exec(
          queued.body_text,
        );
        assert.ok(lockLink, 'the queued email has a lock link');
        assert.ok(text.includes(lockLink[0]), 'the delivered email carries the same lock link');
        assert.match(text, new RegExp(`Message-ID: <${queued.id}@drawbridge\\.test>`, 'i'));
        assert.match(text, /From: Drawbridge <security@drawbridge\.test>/);
        assert.match(text, /Content-Type: text\/html/);

        const row = await outboxRow(context, queued.id);
        assert.equal(row.status, 'delivered');
        assert.equal(row.delivered_at, '2026-11-27T12:00:00.000Z');
        const log = await deliveryLogOf(fresh.database, queued.id);
        assert.equal(log.length, 1);
        assert.equal(log[0]!.status, 'delivered');
        assert.equal(log[0]!.attempt, 1);
      } finally {
        await email.close();
        await sink.close();
        await fresh.drop();
      }
    });

    test('an unreachable SMTP relay is retried later, not lost', async () => {
      const fresh = await freshDatabase(engine);
      const sink = await startSmtpSink();
      const url = sink.url;
      await sink.close();
      const email = smtpSender({ url });
      try {
        const context = testContext(fresh.database);
        const customer = await customerWithCode(context, 'bob@example.com', 'Green Fox 7');
        const queued = await securityEmail(context, customer);
        const report = await dispatcherFor(context, { email }).runOnce();
        assert.equal(report.retried, 1);
        const row = await outboxRow(context, queued.id);
        assert.equal(row.status, 'pending');
        assert.equal(row.attempts, 1);
        assert.ok(row.last_error !== null && row.last_error.length > 0);
        assert.ok(row.next_attempt_at > context.clock.now().toISOString());
      } finally {
        await email.close();
        await fresh.drop();
      }
    });

    test('without SMTP_URL the dev mailbox marks the email delivered without sending anything', async () => {
      const fresh = await freshDatabase(engine);
      try {
        const context = testContext(fresh.database);
        const customer = await customerWithCode(context, 'carol@example.com', 'Red Kite 9');
        const queued = await securityEmail(context, customer);
        const report = await dispatcherFor(context, { email: devMailboxSender }).runOnce();
        assert.equal(report.delivered, 1);
        assert.equal((await outboxRow(context, queued.id)).status, 'delivered');
      } finally {
        await fresh.drop();
      }
    });
  });
}

describe('SMTP configuration', () => {
  test('SMTP_URL must be smtp:// or smtps:// and MAIL_FROM must end with an address', () => {
    assert.throws(
      () => smtpSender({ url: 'http://mail.example.com' }),
      (e: unknown) => e instanceof DomainError && e.field === 'SMTP_URL',
    );
    assert.throws(
      () => smtpSender({ url: 'smtp://127.0.0.1:25', from: 'Drawbridge' }),
      (e: unknown) => e instanceof DomainError && e.field === 'MAIL_FROM',
    );
  });
});
