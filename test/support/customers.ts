import assert from 'node:assert/strict';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { totpAt } from '../../src/core/mfa/totp.ts';
import { createOperator } from '../../src/services/identity/operators.ts';
import { sealAudit } from '../../src/store/audit/index.ts';
import { actingAs } from './actors.ts';
import { type RunningApp, TEST_ORIGIN } from './http.ts';
import type { SoftAuthenticator } from './soft-authenticator.ts';

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

/** The API's page for the email's lock link (the email links to the console's landing page, which posts there). */
export function lockLinkOf(text: string): string {
  const match = /\/lock-account\?token=([A-Za-z0-9_-]+)/.exec(text);
  assert.ok(match, 'the email has no lock link');
  return `/v1/account/lock-link?token=${match[1]}`;
}

/**
 * What a person does with a link from an email: opens it (GET, which changes nothing), then presses the page's
 * button, which posts the page's form (its hidden token) back as a browser would. `accept` is the POST's Accept.
 */
export async function pressLinkButton(running: RunningApp, link: string, accept = 'text/html') {
  const url = new URL(link, running.url);
  const page = await api(running, 'GET', `${url.pathname}${url.search}`);
  assert.equal(page.status, 200, JSON.stringify(page.body));
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = String(page.body);
  const form = /<form method="post" action="([^"]+)">/.exec(html);
  assert.ok(form?.[1], `the page has no form: ${html}`);
  const token = /<input type="hidden" name="token" value="([^"]*)">/.exec(html)?.[1];
  assert.ok(token !== undefined, 'the form carries no token');
  const action = new URL(form[1], url);
  const response = await fetch(`${running.url}${action.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
    body: new URLSearchParams({ token }).toString(),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // the HTML confirmation page
  }
  const pressed: ApiResponse = { status: response.status, body, headers: response.headers };
  return { page, token, pressed };
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

/**
 * Forgets every rate-limit count, for tests about something else that sign up or log in many times from the
 * one loopback address. Rate-limit tests themselves never call it.
 */
export async function forgetRateLimits(running: RunningApp): Promise<void> {
  await running.context.database.db.deleteFrom('rate_limits').execute();
}

export async function principalIdOf(running: RunningApp, email: string): Promise<string> {
  const row = await running.context.database.db
    .selectFrom('principals')
    .select('id')
    .where('email', '=', email.toLowerCase())
    .executeTakeFirst();
  assert.ok(row, `no principal ${email}`);
  return row.id;
}

/** The audit actions recorded about one subject (e.g. "customer:<id>"), oldest first, once sealed into the chain. */
export async function auditActionsAbout(running: RunningApp, subject: string): Promise<string[]> {
  await sealAudit(running.context.database);
  const rows = await running.context.database.db
    .selectFrom('audit_log')
    .select(['action', 'seq'])
    .where('subject', '=', subject)
    .orderBy('seq')
    .execute();
  return rows.map((r) => r.action);
}

export async function countPrincipals(running: RunningApp): Promise<number> {
  const row = await running.context.database.db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Moves the clock an hour on, into fresh rate-limit windows (10 sign-ups per IP per hour), so each test can
 * sign up its own customers. Sessions made before it are idle-expired afterwards.
 */
export function freshRateWindows(running: RunningApp): void {
  running.clock.advance(60 * 60_000);
}

/** A principal's row, straight from the database (what the API does not show). */
export async function principalRow(running: RunningApp, email: string, kind = 'customer') {
  const row = await running.context.database.db
    .selectFrom('principals')
    .selectAll()
    .where('kind', '=', kind as 'customer' | 'operator')
    .where('email', '=', email)
    .executeTakeFirst();
  assert.ok(row, `no ${kind} ${email}`);
  return row;
}

/** Audit entries with `action`, oldest first, once sealed into the chain. */
export async function auditEntries(running: RunningApp, action: string) {
  await sealAudit(running.context.database);
  return running.context.database.db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', action)
    .orderBy('seq')
    .execute();
}

/** A verified customer with an AAL1 session and no second factor yet. */
export async function customerWithoutFactors(running: RunningApp, email: string): Promise<string> {
  await signUpVerified(running, email);
  const session = await login(running, email);
  assert.equal(session.status, 200, JSON.stringify(session.body));
  assert.equal(session.body.aal, 1);
  return session.body.token;
}

/** Registers a passkey held by `authenticator`; returns the API's answer and the credential id. */
export async function registerSoftPasskey(
  running: RunningApp,
  token: string,
  authenticator: SoftAuthenticator,
  stepUp?: string,
) {
  const options = await api(running, 'POST', '/v1/mfa/passkeys/options', {
    token,
    body: stepUp === undefined ? {} : { step_up_token: stepUp },
  });
  assert.equal(options.status, 200, JSON.stringify(options.body));
  const response = authenticator.createCredential(options.body.options, TEST_ORIGIN);
  const registered = await api(running, 'POST', '/v1/mfa/passkeys', {
    token,
    body: { challenge_id: options.body.challenge_id, response },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  return { credentialId: response.id, body: registered.body };
}

/** A passkey challenge for stepping up to `action` (10 s pass, keeping MFA rate-limit windows light). */
export async function passkeyStepUpChallenge(running: RunningApp, token: string, action: string) {
  running.clock.advance(10_000);
  const challenge = await api(running, 'POST', '/v1/auth/step-up/passkey-challenge', {
    token,
    body: { action },
  });
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  return challenge.body as {
    challenge_id: string;
    expires_at: string;
    options: PublicKeyCredentialRequestOptionsJSON;
  };
}

/** A step-up proof for `action` signed by the passkey in `authenticator`. */
export async function passkeyStepUpToken(
  running: RunningApp,
  token: string,
  authenticator: SoftAuthenticator,
  action: string,
): Promise<string> {
  const challenge = await passkeyStepUpChallenge(running, token, action);
  const response = await api(running, 'POST', '/v1/auth/step-up', {
    token,
    body: {
      action,
      proof: {
        method: 'passkey',
        challenge_id: challenge.challenge_id,
        response: authenticator.getAssertion(challenge.options, TEST_ORIGIN),
      },
    },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.step_up_token;
}

export interface Operator {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly secret: string;
  readonly token: string;
}

/** An operator made by the service (as `drawbridge operator create` does), signed in with password and TOTP. */
export async function operatorWithSession(
  running: RunningApp,
  email: string,
  role: 'support' | 'risk_analyst' | 'incident_commander' | 'admin',
): Promise<Operator> {
  const created = await createOperator(running.context, actingAs('admin'), { email, role });
  const secret = new URL(created.otpauth_uri).searchParams.get('secret');
  assert.ok(secret);
  const session = await api(running, 'POST', '/v1/operator/login', {
    body: {
      email,
      password: created.password,
      proof: { method: 'totp', code: nextTotp(running, secret) },
    },
  });
  assert.equal(session.status, 200, JSON.stringify(session.body));
  return { id: created.id, email, password: created.password, secret, token: session.body.token };
}

/**
 * The same customer in a new AAL2 session (password and the next TOTP code, so the clock moves 30 s), for tests
 * that move the clock past the session idle or absolute lifetime.
 */
export async function signInAgain(running: RunningApp, customer: Customer): Promise<Customer> {
  const session = await login(running, customer.email, {
    proof: { method: 'totp', code: nextTotp(running, customer.secret) },
  });
  assert.equal(session.status, 200, JSON.stringify(session.body));
  assert.equal(session.body.aal, 2);
  return { ...customer, token: session.body.token };
}
