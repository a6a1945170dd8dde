import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { assert } from '../../core/errors.ts';

/**
 * Standard Webhooks symmetric signatures: HMAC-SHA256 over `{id}.{unix seconds}.{body}`, sent as
 * `v1,<base64>`. During a secret rotation the header carries one signature per secret, space-separated, so a
 * receiver holding either secret verifies (https://github.com/standard-webhooks/standard-webhooks, spec).
 */

const SECRET_PREFIX = 'whsec_';
/** The spec asks for 24..64 random bytes. */
const SECRET_BYTES = 32;
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export function isWebhookSecret(value: string): boolean {
  if (!value.startsWith(SECRET_PREFIX) || value.length > 200) return false;
  const bytes = Buffer.from(value.slice(SECRET_PREFIX.length), 'base64');
  return bytes.byteLength >= 24 && bytes.byteLength <= 64;
}

/** The `webhook-signature` value for `body` under each secret, newest first. */
export function webhookSignature(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  body: string,
): string {
  assert(secrets.length >= 1 && secrets.length <= 2, 'a webhook is signed with one or two secrets');
  // A '.' in the id would let one signed string pass for another (the spec forbids it).
  assert(MESSAGE_ID.test(messageId), 'a webhook message id is a plain token');
  return secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' ');
}

export function webhookHeaders(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  body: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhookSignature(secrets, messageId, at, body),
  };
}
