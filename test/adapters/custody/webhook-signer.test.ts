import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { custodyMessageId } from '../../../src/adapters/custody/custody-transport.ts';
import { verifyCustodyCallback } from '../../../src/adapters/custody/webhook-signer.ts';
import { newWebhookSecret } from '../../../src/adapters/webhooks/signing.ts';
import { loadConfig } from '../../../src/config.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { judgeReport } from '../../../src/core/withdrawals/custody-report.ts';

const OUT = newWebhookSecret();
const IN = newWebhookSecret();
const WEBHOOK = {
  CUSTODY_SIGNER: 'webhook',
  CUSTODY_WEBHOOK_URL: 'http://127.0.0.1:9999/custody',
  CUSTODY_WEBHOOK_SECRET: OUT,
  CUSTODY_CALLBACK_SECRET: IN,
};

function refusal(env: NodeJS.ProcessEnv): { field: string | undefined; reason: string } {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return { field: error.field, reason: error.message };
  }
  assert.fail('the configuration was accepted');
}

describe('custody signer configuration', () => {
  test('the simulated signer is the default', () => {
    assert.deepEqual(loadConfig({}).custody, { signer: 'simulated' });
    assert.deepEqual(loadConfig({ CUSTODY_SIGNER: 'simulated' }).custody, { signer: 'simulated' });
  });

  test('the webhook signer with its URL and two secrets', () => {
    assert.deepEqual(loadConfig(WEBHOOK).custody, {
      signer: 'webhook',
      url: 'http://127.0.0.1:9999/custody',
      secret: OUT,
      callbackSecret: IN,
      timeoutMs: 10_000,
    });
    const allowed = loadConfig({
      ...WEBHOOK,
      CUSTODY_WEBHOOK_URL: 'https://custody.example.com/instructions',
      WEBHOOK_ALLOWED_HOSTS: 'custody.example.com',
      CUSTODY_WEBHOOK_TIMEOUT_SECONDS: '5',
    }).custody;
    assert.equal(allowed.signer === 'webhook' && allowed.timeoutMs, 5000);
  });

  test('invalid combinations are refused at start, naming the variable and never echoing a secret', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ CUSTODY_SIGNER: 'hsm' }, 'CUSTODY_SIGNER'],
      [{ CUSTODY_WEBHOOK_URL: 'http://127.0.0.1:9999/' }, 'CUSTODY_WEBHOOK_URL'],
      [{ CUSTODY_CALLBACK_SECRET: IN }, 'CUSTODY_CALLBACK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_URL: '' }, 'CUSTODY_WEBHOOK_URL'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_SECRET: undefined }, 'CUSTODY_WEBHOOK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_CALLBACK_SECRET: undefined }, 'CUSTODY_CALLBACK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_SECRET: 'hunter2' }, 'CUSTODY_WEBHOOK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_CALLBACK_SECRET: 'whsec_c2hvcnQ=' }, 'CUSTODY_CALLBACK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_CALLBACK_SECRET: OUT }, 'CUSTODY_CALLBACK_SECRET'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_URL: 'ftp://127.0.0.1/x' }, 'CUSTODY_WEBHOOK_URL'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_URL: 'https://custody.example.com/x' }, 'CUSTODY_WEBHOOK_URL'],
      [
        {
          ...WEBHOOK,
          CUSTODY_WEBHOOK_URL: 'http://custody.example.com/x',
          WEBHOOK_ALLOWED_HOSTS: 'custody.example.com',
        },
        'CUSTODY_WEBHOOK_URL',
      ],
      // Scale-out (PostgreSQL) allows no loopback receivers unless told to.
      [{ ...WEBHOOK, DATABASE_URL: 'postgres://db/x' }, 'CUSTODY_WEBHOOK_URL'],
      [{ ...WEBHOOK, CUSTODY_WEBHOOK_TIMEOUT_SECONDS: '600' }, 'CUSTODY_WEBHOOK_TIMEOUT_SECONDS'],
    ];
    for (const [env, field] of cases) {
      const { field: named, reason } = refusal(env);
      assert.equal(named, field, JSON.stringify({ env, reason }));
      assert.ok(!reason.includes(OUT.slice(6)) && !reason.includes(IN.slice(6)), reason);
    }
    const loopbackAllowed = loadConfig({
      ...WEBHOOK,
      DATABASE_URL: 'postgres://db/x',
      ALLOW_LOOPBACK_WEBHOOKS: 'true',
    });
    assert.equal(loopbackAllowed.custody.signer, 'webhook');
  });
});

describe('custody status only moves forward', () => {
  const cases: [string, string | null, string, string | undefined, string][] = [
    ['submitted', null, 'broadcast', 'aa', 'apply'],
    ['submitted', null, 'confirmed', 'aa', 'apply'],
    ['submitted', null, 'failed', undefined, 'apply'],
    ['broadcast', 'aa', 'broadcast', 'aa', 'unchanged'],
    ['broadcast', 'aa', 'confirmed', 'aa', 'apply'],
    ['broadcast', 'aa', 'failed', undefined, 'apply'],
    ['broadcast', 'aa', 'confirmed', 'bb', 'refuse'],
    ['confirmed', 'aa', 'confirmed', 'aa', 'unchanged'],
    ['confirmed', 'aa', 'broadcast', 'aa', 'refuse'],
    ['confirmed', 'aa', 'failed', 'aa', 'refuse'],
    ['failed', 'aa', 'confirmed', 'aa', 'refuse'],
    ['failed', null, 'broadcast', 'aa', 'refuse'],
    ['failed', null, 'failed', undefined, 'unchanged'],
  ];
  for (const [status, txid, report, reportTxid, expected] of cases) {
    test(`${status}${txid === null ? '' : ` (${txid})`} then ${report}${reportTxid === undefined ? '' : ` (${reportTxid})`}: ${expected}`, () => {
      const judgement = judgeReport(
        { status: status as 'submitted', txid },
        { status: report as 'broadcast', txid: reportTxid },
      );
      assert.equal(judgement.kind, expected, JSON.stringify(judgement));
    });
  }
});

describe('verifying a custody callback', () => {
  const secret = newWebhookSecret();
  const body = '{"withdrawal_id":"w","status":"failed"}';
  function signed(id = 'msg_1', at = new Date()) {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    };
  }

  test('a good signature verifies; anything else is a refusal, never an exception', () => {
    assert.deepEqual(verifyCustodyCallback(secret, body, signed()), { ok: true, webhookId: 'msg_1' });
    const headers = signed();
    const refusals: Record<string, string | string[] | undefined>[] = [
      {},
      { ...headers, 'webhook-signature': undefined },
      { ...headers, 'webhook-id': ['msg_1', 'msg_2'] },
      { ...headers, 'webhook-timestamp': `${headers['webhook-timestamp']}0abc` },
      { ...headers, 'webhook-signature': 'v1,AAAA' },
      { ...headers, 'webhook-signature': 'x'.repeat(2000) },
      { ...headers, 'webhook-id': 'msg.1' },
      signed('msg_1', new Date(Date.now() - 6 * 60_000)),
    ];
    for (const candidate of refusals) {
      assert.equal(verifyCustodyCallback(secret, body, candidate).ok, false, JSON.stringify(candidate));
    }
    assert.equal(verifyCustodyCallback(secret, `${body} `, headers).ok, false, 'the exact bytes are signed');
    assert.equal(verifyCustodyCallback(newWebhookSecret(), body, headers).ok, false);
  });

  test('the instruction id is a stable, plain token per withdrawal', () => {
    const id = '019000aa-0000-7000-8000-000000000001';
    assert.equal(custodyMessageId(id), `custody_${id}`);
    assert.equal(custodyMessageId(id), custodyMessageId(id));
    assert.match(custodyMessageId('odd id.with/dots'), /^custody_[A-Za-z0-9_-]{43}$/);
  });
});
