import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { lockOwnAccount, lockWithLink } from '../../services/identity/account-lock.ts';
import {
  antiPhishingHistory,
  getMfaPolicy,
  setAntiPhishingCode,
  setMfaPolicy,
} from '../../services/identity/account-settings.ts';
import { endMyOtherSessions, endMySession, listMySessions } from '../../services/identity/sessions.ts';
import { authOf, clearSessionCookie, requestMeta, requireSession } from '../auth.ts';
import { emailLinkRoutes, FORM_CONTENT_TYPE, sendPage, wantsPage } from '../email-links.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Policy = Type.Object(
  {
    policy: Type.Record(
      Type.String(),
      Type.Object({
        required: Type.Boolean(),
        changeable: Type.Boolean(),
        since: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  },
  {
    examples: [
      {
        policy: {
          login: { required: true, changeable: true, since: '2026-11-27T12:00:00.000Z' },
          address_book: { required: true, changeable: false, since: '2026-11-27T12:00:00.000Z' },
          withdrawal: { required: true, changeable: false, since: '2026-11-27T12:00:00.000Z' },
          api_keys: { required: true, changeable: true, since: '2026-11-27T12:00:00.000Z' },
          settings: { required: false, changeable: true, since: '2026-11-28T09:14:02.000Z' },
        },
      },
    ],
  },
);

export function registerAccountRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  options: { cookieSecure: boolean },
) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/account/sessions',
    {
      schema: {
        tags: ['account'],
        summary: 'My sessions and devices',
        description:
          'For the signed-in customer: their sessions (up to 100; this one has `current: true`), each with ' +
          'assurance level, IP, user agent, last activity and how it ended, and the devices that have ' +
          'signed in, with the platform and integrity they reported. End one with DELETE ' +
          '/v1/account/sessions/{id}.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { sessions: Type.Array(Type.Unknown()), devices: Type.Array(Type.Unknown()) },
            {
              examples: [
                {
                  sessions: [
                    {
                      id: EXAMPLE.sessionId,
                      current: true,
                      aal: 2,
                      device_id: '01a23ab8-8606-7c31-a0b2-5e0f7d6c4b21',
                      ip: '203.0.113.7',
                      user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)',
                      created_at: '2026-11-28T12:01:01.000Z',
                      last_seen_at: '2026-11-28T12:01:31.000Z',
                      ended_at: null,
                      ended_reason: null,
                    },
                  ],
                  devices: [
                    {
                      id: '01a23ab8-8606-7c31-a0b2-5e0f7d6c4b21',
                      platform: 'ios',
                      user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)',
                      integrity: 'unknown',
                      integrity_source: 'self_reported',
                      first_seen_at: '2026-11-28T12:01:01.000Z',
                      last_seen_at: '2026-11-28T12:01:01.000Z',
                    },
                  ],
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => listMySessions(context, authOf(request)),
  );

  app.delete(
    '/v1/account/sessions/:id',
    {
      schema: {
        tags: ['account'],
        summary: 'End one of my sessions',
        description:
          'For the signed-in customer: ends one of their sessions at once (a lost phone, a shared ' +
          'computer); 204. A session that is not theirs is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 204: Type.Null(), ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request, reply) => {
      await endMySession(context, authOf(request), (request.params as { id: string }).id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/account/sessions/end-others',
    {
      schema: {
        tags: ['account'],
        summary: 'End every session but this one',
        description:
          'For the signed-in customer: ends every other session of theirs at once and keeps this one; ' +
          '`ended` is how many were ended.',
        security: SECURITY,
        response: { 200: Type.Object({ ended: Type.Integer() }), ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) => endMyOtherSessions(context, authOf(request)),
  );

  app.post(
    '/v1/account/lock',
    {
      schema: {
        tags: ['account'],
        summary: 'Lock my account now: every session ends, withdrawals stop; only an operator unlocks',
        description:
          'For the signed-in customer who thinks someone else has access: locks the account at once, every ' +
          'session (this one too) ends and its cookie is cleared, withdrawals stop and a security email is ' +
          'sent. Only an operator unlocks it (POST /v1/operator/customers/{id}/unlock); locking an account ' +
          'already locked answers the first `locked_at`.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { locked_at: Type.String() },
            { examples: [{ locked_at: '2026-11-28T12:03:00.000Z' }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request, reply) => {
      const result = await lockOwnAccount(context, authOf(request), requestMeta(request));
      clearSessionCookie(reply, options.cookieSecure);
      return result;
    },
  );

  emailLinkRoutes(app, (scope) => {
    scope.get(
      '/v1/account/lock-link',
      {
        schema: {
          tags: ['account'],
          summary:
            'The "this wasn\'t me" link from any security email: a page whose button locks the account (opening it changes nothing)',
          description:
            'The "this wasn\'t me" URL in every security email, for a person\'s browser; no session needed. ' +
            'Answers a small HTML page, without script, whose button POSTs the token to this same path: ' +
            'opening the link, or a mail scanner fetching it, changes nothing and spends nothing.',
          querystring: Type.Object(
            { token: Type.String({ maxLength: 128 }) },
            { additionalProperties: false },
          ),
          produces: ['text/html'],
          response: { 200: Type.String(), ...PROBLEM_RESPONSES },
        },
      },
      async (request, reply) =>
        sendPage(reply, {
          title: 'Lock your Drawbridge account?',
          paragraphs: [
            'If a security email told you about something you did not do, lock your account: every session ends at once and withdrawals stop. Only support can unlock it afterwards.',
            'Nothing has changed yet; opening this page does nothing on its own.',
          ],
          form: {
            action: 'lock-link',
            token: (request.query as { token: string }).token,
            button: 'Lock my account',
          },
        }),
    );

    scope.post(
      '/v1/account/lock-link',
      {
        schema: {
          tags: ['account'],
          summary:
            "Lock the account with the token from a security email's link (single-use, expiring); what the link's page sends",
          description:
            "What the lock page's button sends; no session needed, the token is the credential. Spends the " +
            'single-use, expiring token and locks its account as POST /v1/account/lock does: every session ' +
            'ends, withdrawals stop, only an operator unlocks. A form post gets an HTML page back, a JSON ' +
            'request `{"locked_at"}`; a used, expired or unknown token is a 400 naming `token`, and attempts ' +
            'are rate-limited per IP (429).',
          consumes: [FORM_CONTENT_TYPE, 'application/json'],
          produces: ['text/html', 'application/json'],
          body: Body(
            { token: Type.String({ maxLength: 128 }) },
            { examples: [{ token: 'Lk4m9QzT1vB7xR2cN8dW5pY0sF3hJ6gA1eK7uI4oZ2q' }] },
          ),
          response: { 200: Type.Object({ locked_at: Type.String() }), ...PROBLEM_RESPONSES },
        },
      },
      async (request, reply) => {
        const result = await lockWithLink(
          context,
          (request.body as { token: string }).token,
          requestMeta(request),
        );
        if (!wantsPage(request)) return result;
        return sendPage(reply, {
          title: 'Your Drawbridge account is locked',
          paragraphs: [
            `Every session was ended and withdrawals are stopped (since ${result.locked_at}). Contact support to unlock it.`,
          ],
        });
      },
    );
  });

  app.get(
    '/v1/account/mfa-policy',
    {
      schema: {
        tags: ['account'],
        summary: 'Which actions need a second factor',
        description:
          'For the signed-in customer: for each action type (login, address_book, withdrawal, api_keys, ' +
          'settings), whether a second factor is required, whether the customer may change that ' +
          '(`changeable`) and since when. address_book and withdrawal always require one.',
        security: SECURITY,
        response: { 200: Policy, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) => getMfaPolicy(context, authOf(request)),
  );

  app.put(
    '/v1/account/mfa-policy',
    {
      schema: {
        tags: ['account'],
        summary: 'Require or stop requiring a second factor for one action type (step-up "mfa.policy")',
        description:
          'For the signed-in customer, with a step-up token for `mfa.policy` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action). Sets whether `action` needs a second factor from now on, ' +
          'emails the customer and answers the whole policy; making address_book or withdrawal optional is ' +
          'a 400.',
        security: SECURITY,
        body: Body(
          {
            action: Type.String({ maxLength: 32 }),
            required: Type.Boolean(),
            step_up_token: Type.Optional(StepUpToken),
          },
          { examples: [{ action: 'settings', required: false, step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: { 200: Policy, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) =>
      setMfaPolicy(context, authOf(request), request.body as Record<string, unknown>, requestMeta(request)),
  );

  app.put(
    '/v1/account/anti-phishing-code',
    {
      schema: {
        tags: ['account'],
        summary: 'Set the code every genuine email shows (step-up "anti_phishing.set")',
        description:
          'For the signed-in customer, with a step-up token for `anti_phishing.set` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action). Sets the code (4 to 32 letters, digits, spaces, `.`, `_` or ' +
          '`-`) that every genuine Drawbridge email shows from now on, and emails the customer; the API ' +
          'never shows the code back.',
        security: SECURITY,
        body: Body(
          { code: Type.String({ maxLength: 64 }), step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ code: 'blue falcon 42', step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: {
          200: Type.Object(
            { active_since: Type.String() },
            { examples: [{ active_since: '2026-11-28T12:04:00.000Z' }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) =>
      setAntiPhishingCode(
        context,
        authOf(request),
        request.body as Record<string, unknown>,
        requestMeta(request),
      ),
  );

  app.get(
    '/v1/account/anti-phishing-code/history',
    {
      schema: {
        tags: ['account'],
        summary: 'When each anti-phishing code became active (the codes themselves are only shown in emails)',
        description:
          'For the signed-in customer: when each anti-phishing code they set became active. The codes ' +
          'themselves are never returned by the API, only shown in emails.',
        security: SECURITY,
        response: {
          200: Type.Object({ history: Type.Array(Type.Object({ active_since: Type.String() })) }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => antiPhishingHistory(context, authOf(request)),
  );
}
