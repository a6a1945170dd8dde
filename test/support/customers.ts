import assert from 'node:assert/strict';
import { totpAt } from '../../src/core/mfa/totp.ts';
import type { RunningApp } from './http.ts';

export interface ApiResponse {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  readonly body: any;
  readonly headers: Headers;
}

/** One HTTP call to the running app, JSON in and out. */
export async function api(
  running: RunningApp,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${running.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (an HTML page): keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

export async function mailbox(running: RunningApp, to: string) {
  const response = await api(running, 'GET', `/v1/dev/mailbox?to=${encodeURIComponent(to)}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.messages as {
    id: string;
    event: string;
    subject: string;
    text: string;
    html: string;
  }[];
}

/** The newest email for `event`, or a failed assertion. */
export async function lastEmail(running: RunningApp, to: string, event: string) {
  const message = (await mailbox(running, to)).find((m) => m.event === event);
  assert.ok(message, `no ${event} email for ${to}`);
  return message;
}

export function lockLinkOf(text: string): string {
  const match = /\/v1\/account\/lock-link\?token=([A-Za-z0-9_-]+)/.exec(text);
  assert.ok(match, 'the email has no lock link');
  return `/v1/account/lock-link?token=${match[1]}`;
}

export const PASSWORD = 'correct horse battery staple';

/** Signs up and verifies the email through the real routes and the dev mailbox. */
export async function signUpVerified(running: RunningApp, email: string, password = PASSWORD): Promise<void> {
  const signup = await api(running, 'POST', '/v1/auth/signup', { body: { email, password } });
  assert.equal(signup.status, 202, JSON.stringify(signup.body));
  const verification = await lastEmail(running, email, 'account.verify_email');
  const token = /Verification code \(if asked\): ([A-Za-z0-9_-]+)/.exec(verification.text)?.[1];
  assert.ok(token, 'no verification token in the email');
  const verified = await api(running, 'POST', '/v1/auth/verify-email', { body: { token } });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
}

export async function login(
  running: RunningApp,
  email: string,
  extra: Record<string, unknown> = {},
  password = PASSWORD,
) {
  return api(running, 'POST', '/v1/auth/login', { body: { email, password, ...extra } });
}

export interface Customer {
  readonly email: string;
  readonly token: string;
  readonly secret: string;
  readonly recoveryCodes: readonly string[];
}

/** Moves the clock to the next TOTP step and returns that step's code, so no code is ever reused by accident. */
export function nextTotp(running: RunningApp, secret: string): string {
  running.clock.advance(30_000);
  return totpAt(secret, running.clock.now());
}

/** A verified customer with an active authenticator app and an AAL2 session. */
export async function customerWithTotp(running: RunningApp, email: string): Promise<Customer> {
  await signUpVerified(running, email);
  const first = await login(running, email);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const token = first.body.token as string;
  const started = await api(running, 'POST', '/v1/mfa/totp', { token, body: {} });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const secret = new URL(started.body.otpauth_uri).searchParams.get('secret');
  assert.ok(secret);
  const confirmed = await api(running, 'POST', `/v1/mfa/totp/${started.body.factor_id}/confirm`, {
    token,
    body: { code: totpAt(secret, running.clock.now()) },
  });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  return { email, token, secret, recoveryCodes: confirmed.body.recovery_codes };
}

/** A step-up proof for `action`, made with a fresh TOTP code. */
export async function stepUpToken(running: RunningApp, customer: Customer, action: string): Promise<string> {
  const response = await api(running, 'POST', '/v1/auth/step-up', {
    token: customer.token,
    body: { action, proof: { method: 'totp', code: nextTotp(running, customer.secret) } },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.step_up_token;
}
