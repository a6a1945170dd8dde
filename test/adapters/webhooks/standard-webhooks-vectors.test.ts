import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  newWebhookSecret,
  webhookHeaders,
  webhookSignature,
} from '../../../src/adapters/webhooks/signing.ts';

interface Vectors {
  sign: { secret: string; msg_id: string; timestamp: number; payload: string; signature: string }[];
  invalid_signatures: string[];
  multi_signature_decoys: string[];
}

const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'standard-webhooks-vectors.json'), 'utf8'),
) as Vectors;

describe('Standard Webhooks signing', () => {
  test('the published signature vectors verify against our signing', () => {
    assert.ok(vectors.sign.length >= 1);
    for (const v of vectors.sign) {
      // The vector's id has a prefix our ids do not; the signed string is the same construction.
      const ours = webhookSignature([v.secret], v.msg_id, new Date(v.timestamp * 1000), v.payload);
      assert.equal(ours, v.signature);
    }
  });

  test('a near-miss, truncated or foreign signature is not ours', () => {
    const v = vectors.sign[0]!;
    const ours = webhookSignature([v.secret], v.msg_id, new Date(v.timestamp * 1000), v.payload);
    for (const bad of vectors.invalid_signatures) assert.notEqual(ours, bad);
    // One changed byte of payload, id or second changes the signature.
    assert.notEqual(
      webhookSignature([v.secret], v.msg_id, new Date(v.timestamp * 1000), `${v.payload} `),
      ours,
    );
    assert.notEqual(
      webhookSignature([v.secret], `${v.msg_id}x`, new Date(v.timestamp * 1000), v.payload),
      ours,
    );
    assert.notEqual(
      webhookSignature([v.secret], v.msg_id, new Date((v.timestamp + 1) * 1000), v.payload),
      ours,
    );
  });

  test('during a rotation both signatures are sent and a receiver with either secret verifies', () => {
    const oldSecret = newWebhookSecret();
    const newSecret = newWebhookSecret();
    const body = JSON.stringify({ type: 'account.locked', data: { account_id: 'a' } });
    const headers = webhookHeaders([newSecret, oldSecret], 'msg-1', new Date(), body);
    assert.equal(headers['webhook-signature']!.split(' ').length, 2);
    assert.deepEqual(new Webhook(newSecret).verify(body, headers), JSON.parse(body));
    assert.deepEqual(new Webhook(oldSecret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(newWebhookSecret()).verify(body, headers), WebhookVerificationError);
  });

  test('decoy signatures beside ours do not stop verification, and alone they fail', () => {
    const secret = newWebhookSecret();
    const body = '{"type":"x.y"}';
    const headers = webhookHeaders([secret], 'msg-2', new Date(), body);
    const mixed = {
      ...headers,
      'webhook-signature': [...vectors.multi_signature_decoys, headers['webhook-signature']].join(' '),
    };
    assert.doesNotThrow(() => new Webhook(secret).verify(body, mixed));
    const decoysOnly = { ...headers, 'webhook-signature': vectors.multi_signature_decoys.join(' ') };
    assert.throws(() => new Webhook(secret).verify(body, decoysOnly), WebhookVerificationError);
  });

  test('a message id with a dot is refused before signing (it would make signed strings ambiguous)', () => {
    assert.throws(() => webhookSignature([newWebhookSecret()], 'a.b', new Date(), '{}'), /plain token/);
  });
});
