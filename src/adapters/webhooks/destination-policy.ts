import { invalidInput } from '../../core/errors.ts';

/**
 * Where webhooks may go. A receiver URL is an outbound request the server makes on an operator's say-so, so it
 * is limited to named hosts (no request forgery against internal services): exact host names from
 * WEBHOOK_ALLOWED_HOSTS over https, and loopback over http(s) only when allowed (the embedded default, tests).
 */
export interface WebhookDestinationPolicy {
  readonly allowedHosts: readonly string[];
  readonly allowLoopback: boolean;
}

/** Nothing is allowed: what a server gets when nobody configured a policy (fail closed). */
export const NO_WEBHOOK_DESTINATIONS: WebhookDestinationPolicy = Object.freeze({
  allowedHosts: Object.freeze([]),
  allowLoopback: false,
});

export const MAX_WEBHOOK_URL_LENGTH = 2048;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function destinationPolicy(input: {
  allowedHosts: readonly string[];
  allowLoopback: boolean;
}): WebhookDestinationPolicy {
  const hosts = input.allowedHosts.map((host) => host.trim().toLowerCase());
  for (const host of hosts) {
    if (host.length > 253 || !HOST_NAME.test(host)) {
      throw invalidInput('WEBHOOK_ALLOWED_HOSTS', `${JSON.stringify(host)} is not a host name`);
    }
  }
  return Object.freeze({ allowedHosts: Object.freeze(hosts), allowLoopback: input.allowLoopback });
}

/** The URL as it will be called, or a 400 naming `url` with the reason. */
export function checkWebhookUrl(policy: WebhookDestinationPolicy, input: unknown): string {
  if (typeof input !== 'string' || input.length === 0) throw invalidInput('url', 'is required');
  if (input.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalidInput('url', `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalidInput('url', 'is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidInput('url', 'must be http(s)');
  if (url.username !== '' || url.password !== '') {
    throw invalidInput('url', 'must not carry credentials (the signature authenticates us)');
  }
  if (url.hash !== '') throw invalidInput('url', 'must not have a fragment');
  const host = url.hostname.toLowerCase();
  if (LOOPBACK_HOSTS.has(host)) {
    if (!policy.allowLoopback) throw invalidInput('url', 'loopback receivers are not allowed here');
  } else {
    if (!policy.allowedHosts.includes(host)) {
      throw invalidInput('url', `host ${host} is not in WEBHOOK_ALLOWED_HOSTS`);
    }
    if (url.protocol !== 'https:') throw invalidInput('url', 'must be https (http only on loopback)');
  }
  const normalized = url.toString();
  if (normalized.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalidInput('url', `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  return normalized;
}
