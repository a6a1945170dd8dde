import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkWebhookUrl,
  destinationPolicy,
  NO_WEBHOOK_DESTINATIONS,
} from '../../../src/adapters/webhooks/destination-policy.ts';
import { DomainError } from '../../../src/core/errors.ts';

const production = destinationPolicy({ allowedHosts: ['hooks.example.com'], allowLoopback: false });
const embedded = destinationPolicy({ allowedHosts: [], allowLoopback: true });

function refusal(policy: typeof production, url: unknown): DomainError {
  try {
    checkWebhookUrl(policy, url);
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error;
  }
  assert.fail(`${String(url)} was accepted`);
}

describe('webhook destinations (request forgery through receiver URLs)', () => {
  test('an allowlisted host over https is accepted, normalised', () => {
    assert.equal(
      checkWebhookUrl(production, 'https://HOOKS.example.com/in?x=1'),
      'https://hooks.example.com/in?x=1',
    );
  });

  test('internal and look-alike hosts are refused, each naming url', () => {
    for (const url of [
      'https://internal.example.com/',
      'https://hooks.example.com.evil.test/',
      'https://evil.test/?hooks.example.com',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/',
      'http://127.0.0.1:5432/',
      'http://localhost/',
      'http://0x7f.1/',
      'http://[::1]/',
    ]) {
      const error = refusal(production, url);
      assert.equal(error.code, 'INVALID_INPUT', url);
      assert.equal(error.field, 'url', url);
    }
  });

  test('loopback is allowed only when the policy says so, and then only loopback', () => {
    assert.equal(checkWebhookUrl(embedded, 'http://127.0.0.1:9000/h'), 'http://127.0.0.1:9000/h');
    assert.equal(checkWebhookUrl(embedded, 'http://localhost:9000/h'), 'http://localhost:9000/h');
    assert.equal(refusal(embedded, 'https://hooks.example.com/').field, 'url');
    assert.equal(refusal(NO_WEBHOOK_DESTINATIONS, 'http://127.0.0.1/').field, 'url');
  });

  test('wrong schemes, credentials, plain http off loopback, fragments and huge URLs are refused', () => {
    for (const url of [
      'ftp://hooks.example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'https://user:pass@hooks.example.com/',
      'https://token@hooks.example.com/',
      'http://hooks.example.com/',
      'https://hooks.example.com/#frag',
      `https://hooks.example.com/${'a'.repeat(2100)}`,
      'not a url',
      '',
      42,
    ]) {
      assert.equal(refusal(production, url).field, 'url', String(url).slice(0, 40));
    }
  });

  test('a malformed allowlist entry is a configuration error naming the variable', () => {
    assert.throws(
      () => destinationPolicy({ allowedHosts: ['https://x.example.com'], allowLoopback: false }),
      (error: unknown) => error instanceof DomainError && error.field === 'WEBHOOK_ALLOWED_HOSTS',
    );
  });
});
