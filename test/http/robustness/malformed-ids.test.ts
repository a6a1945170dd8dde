import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret } from '../../../src/adapters/webhooks/signing.ts';
import { newId } from '../../../src/core/ids.ts';
import { buildApp } from '../../../src/http/app.ts';
import { ID_PATTERN } from '../../../src/http/schemas.ts';
import {
  type ApiResponse,
  api,
  type Customer,
  customerWithTotp,
  type Operator,
  operatorWithSession,
} from '../../support/customers.ts';
import { type FreshDatabase, freshDatabase, testEngines } from '../../support/engines.ts';
import { type RunningApp, testContext } from '../../support/http.ts';

/** The two ways an id arrives broken: a NUL byte (PostgreSQL refuses it in text: it was a 500) and plain junk. */
const BAD_IDS = [
  { name: 'a NUL byte', raw: '\u0000', inPath: '%00' },
  { name: 'a malformed id', raw: "1' or '1'='1", inPath: encodeURIComponent("1' or '1'='1") },
] as const;

type Who = 'customer' | 'analyst' | 'commander' | 'admin';

interface Case {
  readonly method: string;
  /** With `{id}` where the broken id goes, or a body built around it. */
  readonly path: string;
  readonly body?: (id: string) => unknown;
  readonly who: Who;
  /** The field the problem must name. */
  readonly field: string;
  /** The path as the OpenAPI document names it, when its other parameters are not `{id}` (`{request_id}`). */
  readonly documented?: string;
}

/** Every route that takes an id, in the path, the query or the body (the OpenAPI check below keeps this whole). */
const CASES: readonly Case[] = [
  { method: 'GET', path: '/v1/withdrawals/{id}', who: 'customer', field: 'params.id' },
  { method: 'POST', path: '/v1/withdrawals/{id}/passkey-challenge', who: 'customer', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/withdrawals/{id}/confirm',
    body: () => ({ proof: { method: 'totp', code: '123456' } }),
    who: 'customer',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/withdrawals/{id}/cancel',
    body: () => ({}),
    who: 'customer',
    field: 'params.id',
  },
  {
    method: 'GET',
    path: '/v1/withdrawals?starting_after={id}',
    who: 'customer',
    field: 'querystring.starting_after',
  },
  {
    method: 'GET',
    path: '/v1/operator/withdrawals?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  {
    method: 'GET',
    path: '/v1/operator/withdrawals?account_id={id}',
    who: 'commander',
    field: 'querystring.account_id',
  },
  {
    method: 'GET',
    path: '/v1/operator/customers?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  { method: 'GET', path: '/v1/operator/customers/{id}', who: 'commander', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/incidents/{id}/losses', who: 'commander', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/incidents/{id}/reimbursements', who: 'commander', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/incidents/{id}/report', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/reimbursements',
    body: () => ({ reason: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  ...(['approve', 'execute'] as const).flatMap((step): Case[] => [
    {
      method: 'POST',
      path: `/v1/operator/incidents/{id}/reimbursements/{endpoint}/${step}`,
      ...(step === 'execute' ? { body: () => ({}) } : {}),
      who: 'commander',
      field: 'params.id',
      documented: `/v1/operator/incidents/{id}/reimbursements/{reimbursement_id}/${step}`,
    },
    {
      method: 'POST',
      path: `/v1/operator/incidents/{endpoint}/reimbursements/{id}/${step}`,
      ...(step === 'execute' ? { body: () => ({}) } : {}),
      who: 'commander',
      field: 'params.reimbursement_id',
      documented: `/v1/operator/incidents/{id}/reimbursements/{reimbursement_id}/${step}`,
    },
  ]),
  {
    method: 'GET',
    path: '/v1/operator/audit?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  {
    method: 'POST',
    path: '/v1/withdrawals',
    body: (id) => ({ asset: 'BTC', network: 'bitcoin', amount: '0.1', destination_id: id }),
    who: 'customer',
    field: 'body.destination_id',
  },
  { method: 'DELETE', path: '/v1/account/sessions/{id}', who: 'customer', field: 'params.id' },
  { method: 'DELETE', path: '/v1/address-book/{id}', body: () => ({}), who: 'customer', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/mfa/totp/{id}/confirm',
    body: () => ({ code: '123456' }),
    who: 'customer',
    field: 'params.id',
  },
  { method: 'DELETE', path: '/v1/mfa/factors/{id}', body: () => ({}), who: 'customer', field: 'params.id' },
  { method: 'DELETE', path: '/v1/operator/halts/{id}', who: 'commander', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/rule-sets/{id}', who: 'analyst', field: 'params.id' },
  {
    method: 'GET',
    path: '/v1/operator/rule-sets?starting_after={id}',
    who: 'analyst',
    field: 'querystring.starting_after',
  },
  { method: 'POST', path: '/v1/operator/rule-sets/{id}/shadow', who: 'analyst', field: 'params.id' },
  { method: 'POST', path: '/v1/operator/rule-sets/{id}/activate', who: 'analyst', field: 'params.id' },
  { method: 'POST', path: '/v1/operator/rule-sets/{id}/retire', who: 'analyst', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/rule-sets/{id}/disagreements', who: 'analyst', field: 'params.id' },
  {
    method: 'GET',
    path: '/v1/operator/rule-sets/{endpoint}/disagreements?starting_after={id}',
    who: 'analyst',
    field: 'querystring.starting_after',
  },
  {
    method: 'GET',
    path: '/v1/operator/halts?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  {
    method: 'POST',
    path: '/v1/operator/halts',
    body: (id) => ({ scope: 'account', account_id: id, reason: 'checking ids' }),
    who: 'commander',
    field: 'body.account_id',
  },
  {
    method: 'POST',
    path: '/v1/operator/deposits',
    body: (id) => ({
      account_id: id,
      asset: 'BTC',
      network: 'bitcoin',
      amount: '1',
      txid: 'ab'.repeat(32),
      output_index: 0,
    }),
    who: 'commander',
    field: 'body.account_id',
  },
  { method: 'POST', path: '/v1/operator/deposits/{id}/approve', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/deposits/{id}/reject',
    body: () => ({ reason: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  { method: 'GET', path: '/v1/operator/withdrawals/{id}', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/withdrawals/{id}/cancel',
    body: () => ({ reason: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/withdrawals/{id}/review',
    body: () => ({ decision: 'reject', reason: 'checking ids' }),
    who: 'analyst',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/withdrawals/{id}/resolve',
    body: () => ({ outcome: 'not_paid', reason: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/customers/{id}/unlock',
    body: () => ({ reason: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/security/revoke-sessions',
    body: (id) => ({ customer_id: id }),
    who: 'commander',
    field: 'body.customer_id',
  },
  {
    method: 'POST',
    path: '/v1/operator/security/revoke-mfa',
    body: (id) => ({ customer_id: id }),
    who: 'commander',
    field: 'body.customer_id',
  },
  {
    method: 'GET',
    path: '/v1/operator/review-queue?starting_after={id}',
    who: 'analyst',
    field: 'querystring.starting_after',
  },
  { method: 'GET', path: '/v1/operator/review-queue/{id}', who: 'analyst', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/review-queue/{id}/approve',
    body: () => ({ reason: 'checking ids' }),
    who: 'analyst',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/review-queue/{id}/reject',
    body: () => ({ reason: 'checking ids' }),
    who: 'analyst',
    field: 'params.id',
  },
  {
    method: 'GET',
    path: '/v1/operator/alerts?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  { method: 'GET', path: '/v1/operator/alerts/{id}', who: 'commander', field: 'params.id' },
  { method: 'POST', path: '/v1/operator/alerts/{id}/acknowledge', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/alerts/{id}/resolve',
    body: () => ({ kind: 'benign', note: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'GET',
    path: '/v1/operator/cases?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  { method: 'GET', path: '/v1/operator/cases/{id}', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/cases/{id}/links',
    body: () => ({ alert_id: '01a21e3d-0000-7000-8000-000000000000' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/cases/{endpoint}/links',
    body: (id) => ({ alert_id: id }),
    who: 'commander',
    field: 'body.alert_id',
  },
  {
    method: 'POST',
    path: '/v1/operator/cases/{endpoint}/links',
    body: (id) => ({ withdrawal_id: id }),
    who: 'commander',
    field: 'body.withdrawal_id',
  },
  {
    method: 'POST',
    path: '/v1/operator/cases/{id}/notes',
    body: () => ({ note: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/cases/{id}/status',
    body: () => ({ status: 'investigating' }),
    who: 'commander',
    field: 'params.id',
  },
  {
    method: 'POST',
    path: '/v1/operator/cases/{id}/close',
    body: () => ({ note: 'checking ids' }),
    who: 'commander',
    field: 'params.id',
  },
  { method: 'POST', path: '/v1/operator/webhooks/{id}/rotate-secret', who: 'admin', field: 'params.id' },
  { method: 'POST', path: '/v1/operator/webhooks/{id}/disable', who: 'admin', field: 'params.id' },
  { method: 'POST', path: '/v1/operator/webhooks/{id}/test', who: 'admin', field: 'params.id' },
  { method: 'GET', path: '/v1/operator/webhooks/{id}/deliveries', who: 'admin', field: 'params.id' },
  {
    method: 'GET',
    // {endpoint}: a well-formed id, so that the cursor is the field at fault.
    path: '/v1/operator/webhooks/{endpoint}/deliveries?starting_after={id}',
    who: 'admin',
    field: 'querystring.starting_after',
  },
  {
    method: 'GET',
    path: '/v1/operator/incidents?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents',
    who: 'commander',
    field: 'body.alert_id',
    body: (id) => ({ title: 'Bypass', severity: 'low', alert_id: id }),
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/status',
    who: 'commander',
    field: 'params.id',
    body: () => ({ status: 'contained' }),
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}/timeline', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/halts',
    who: 'commander',
    field: 'params.id',
    body: () => ({ scope: 'global', reason: 'bypass' }),
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}/downtime', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/resume-requests',
    who: 'commander',
    field: 'params.id',
    body: () => ({ reason: 'all clear' }),
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/resume-requests/{endpoint}/approve',
    who: 'commander',
    field: 'params.id',
    documented: '/v1/operator/incidents/{id}/resume-requests/{request_id}/approve',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{endpoint}/resume-requests/{id}/approve',
    who: 'commander',
    field: 'params.request_id',
    documented: '/v1/operator/incidents/{id}/resume-requests/{request_id}/approve',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/containments',
    who: 'commander',
    field: 'params.id',
    body: () => ({ scope: 'all', reason: 'stop it' }),
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}/containments', who: 'commander', field: 'params.id' },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/containments/{endpoint}/run',
    who: 'commander',
    field: 'params.id',
    body: () => ({}),
    documented: '/v1/operator/incidents/{id}/containments/{containment_id}/run',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{endpoint}/containments/{id}/run',
    who: 'commander',
    field: 'params.containment_id',
    body: () => ({}),
    documented: '/v1/operator/incidents/{id}/containments/{containment_id}/run',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/freeze',
    who: 'commander',
    field: 'params.id',
    body: () => ({ affected: true, reason: 'freeze' }),
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/accounts/{endpoint}/unfreeze',
    who: 'commander',
    field: 'params.id',
    body: () => ({ reason: 'verified' }),
    documented: '/v1/operator/incidents/{id}/accounts/{account_id}/unfreeze',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{endpoint}/accounts/{id}/unfreeze',
    who: 'commander',
    field: 'params.account_id',
    body: () => ({ reason: 'verified' }),
    documented: '/v1/operator/incidents/{id}/accounts/{account_id}/unfreeze',
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/revoke',
    who: 'commander',
    field: 'params.id',
    body: () => ({ sessions: true }),
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/withdrawals/mark',
    who: 'commander',
    field: 'params.id',
    body: () => ({ withdrawal_ids: ['01a21e3d-0000-7000-8000-000000000000'], classification: 'suspect' }),
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{id}/withdrawals/mark-from-monitor',
    who: 'commander',
    field: 'params.id',
    body: () => ({}),
  },
  {
    method: 'POST',
    path: '/v1/operator/incidents/{endpoint}/withdrawals/mark-from-monitor',
    who: 'commander',
    field: 'body.starting_after',
    body: (id) => ({ starting_after: id }),
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}/withdrawals', who: 'commander', field: 'params.id' },
  {
    method: 'GET',
    path: '/v1/operator/incidents/{endpoint}/withdrawals?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
  {
    method: 'GET',
    path: '/v1/operator/incidents/{endpoint}/withdrawals?account_id={id}',
    who: 'commander',
    field: 'querystring.account_id',
  },
  { method: 'GET', path: '/v1/operator/incidents/{id}/accounts', who: 'commander', field: 'params.id' },
  {
    method: 'GET',
    path: '/v1/operator/incidents/{endpoint}/accounts?starting_after={id}',
    who: 'commander',
    field: 'querystring.starting_after',
  },
];

function assertFieldProblem(response: ApiResponse, field: string, what: string): void {
  assert.ok(response.status >= 400 && response.status < 500, `${what}: ${JSON.stringify(response.body)}`);
  assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.body)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(response.body.code, 'INVALID_INPUT', what);
  // The problem names it as a JSON pointer into the request: params.id is /params/id, querystring.x /query/x.
  const scoped = /^(params|querystring|body)\./.test(field) ? field : `body.${field}`;
  const pointer = `/${scoped.replace(/^querystring\./, 'query.').replaceAll('.', '/')}`;
  assert.equal(response.body.field, pointer, `${what}: ${JSON.stringify(response.body)}`);
  assert.ok(String(response.body.type).startsWith('https://'), what);
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: { pattern?: string } }[];
  requestBody?: {
    content?: Record<string, { schema?: { properties?: Record<string, { pattern?: string }> } }>;
  };
}

/** Every (method, path, where) the OpenAPI document says takes an id, as "GET /v1/withdrawals/{id} params.id". */
function idInputsOf(document: { paths: Record<string, Record<string, OpenApiOperation>> }): string[] {
  const found: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const parameter of operation.parameters ?? []) {
        // Every path parameter is an id; a query parameter is one when it has the id's shape.
        if (parameter.in === 'path' || parameter.schema?.pattern === ID_PATTERN) {
          found.push(
            `${method.toUpperCase()} ${path} ${parameter.in === 'path' ? 'params' : 'querystring'}.${parameter.name}`,
          );
        }
      }
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      for (const [name, property] of Object.entries(schema?.properties ?? {})) {
        if (property.pattern === ID_PATTERN) found.push(`${method.toUpperCase()} ${path} body.${name}`);
      }
    }
  }
  return found.sort();
}

for (const { engine, skip } of await testEngines()) {
  describe(`a NUL byte or junk in an id is a 400 problem naming the field, never a 5xx, on ${engine}`, {
    skip,
  }, () => {
    let fresh: FreshDatabase;
    let running: RunningApp;
    const callbackSecret = newWebhookSecret();
    const tokens = {} as Record<Who, string>;

    before(async () => {
      fresh = await freshDatabase(engine);
      const context = testContext(fresh.database);
      const app = await buildApp({
        context,
        logLevel: 'silent',
        devMailbox: true,
        custodyCallbackSecret: callbackSecret,
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      running = { app, url, clock: context.clock as RunningApp['clock'], context, close: () => app.close() };
      // Signed in, with the roles each route asks for: the broken id must not get past the edge to the database.
      const customer: Customer = await customerWithTotp(running, 'ids@example.com');
      const commander: Operator = await operatorWithSession(
        running,
        'ic@drawbridge.test',
        'incident_commander',
      );
      const admin: Operator = await operatorWithSession(running, 'admin@drawbridge.test', 'admin');
      const analyst: Operator = await operatorWithSession(running, 'ra@drawbridge.test', 'risk_analyst');
      tokens.analyst = analyst.token;
      tokens.customer = customer.token;
      tokens.commander = commander.token;
      tokens.admin = admin.token;
    });
    after(async () => {
      await running.close();
      await fresh.drop();
    });

    test('the id shape the schemas check is the shape newId() makes', () => {
      for (let i = 0; i < 100; i += 1) assert.match(newId(), new RegExp(ID_PATTERN));
    });

    test('every route taking an id is covered here (from the OpenAPI document)', async () => {
      const document = (await api(running, 'GET', '/openapi.json')).body;
      const covered = CASES.map((c) => {
        const [path, query] = (c.documented ?? c.path.replace('{endpoint}', '{id}')).split('?');
        const where = query === undefined ? c.field : `querystring.${query.split('=')[0]}`;
        return `${c.method} ${path} ${where}`;
      }).sort();
      const documented = idInputsOf(document).filter((entry) => !entry.startsWith('POST /v1/custody/'));
      assert.deepEqual(covered, documented);
    });

    for (const bad of BAD_IDS) {
      test(`${bad.name} in every path, query and body id`, async () => {
        for (const c of CASES) {
          const path = c.path
            .replace('{endpoint}', '01a21e3d-0000-7000-8000-000000000000')
            .replace('{id}', bad.inPath);
          const response = await api(running, c.method, path, {
            token: tokens[c.who],
            ...(c.body === undefined ? {} : { body: c.body(bad.raw) }),
          });
          assertFieldProblem(response, c.field, `${c.method} ${c.path} with ${bad.name}`);
        }
      });

      test(`${bad.name} as a custody callback's withdrawal_id`, async () => {
        const raw = JSON.stringify({ withdrawal_id: bad.raw, status: 'failed' });
        const id = `msg_${newId().replaceAll('-', '')}`;
        const at = new Date();
        const response = await fetch(`${running.url}/v1/custody/callbacks`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': new Webhook(callbackSecret).sign(id, at, raw),
          },
          body: raw,
        });
        const body = await response.json();
        assertFieldProblem(
          { status: response.status, body, headers: response.headers },
          'body.withdrawal_id',
          'callback',
        );
      });
    }

    test('a well-formed id that does not exist is still a 404', async () => {
      const response = await api(running, 'GET', `/v1/withdrawals/${newId()}`, { token: tokens.customer });
      assert.equal(response.status, 404, JSON.stringify(response.body));
      assert.equal(response.body.code, 'NOT_FOUND');
    });

    test('a NUL in any other string of a request is a 400 naming the field', async () => {
      const halt = await api(running, 'POST', '/v1/operator/halts', {
        token: tokens.commander,
        body: { scope: 'global', reason: 'a reason\u0000with a NUL' },
      });
      assertFieldProblem(halt, 'reason', 'halt reason');
      const preference = await api(running, 'PUT', '/v1/account/notification-preferences', {
        token: tokens.customer,
        body: { preferences: [{ event: 'withdrawal.\u0000', enabled: false }] },
      });
      assertFieldProblem(preference, 'preferences.0.event', 'preference event');
      const lockLink = await api(running, 'GET', '/v1/account/lock-link?token=%00');
      assertFieldProblem(lockLink, 'querystring.token', 'lock link token');
    });
  });
}
