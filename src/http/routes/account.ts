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
import { Body, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Policy = Type.Object({
  policy: Type.Record(
    Type.String(),
    Type.Object({
      required: Type.Boolean(),
      changeable: Type.Boolean(),
      since: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

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
        security: SECURITY,
        response: {
          200: Type.Object({ sessions: Type.Array(Type.Unknown()), devices: Type.Array(Type.Unknown()) }),
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
        security: SECURITY,
        response: { 200: Type.Object({ locked_at: Type.String() }), ...PROBLEM_RESPONSES },
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
          consumes: [FORM_CONTENT_TYPE, 'application/json'],
          produces: ['text/html', 'application/json'],
          body: Body({ token: Type.String({ maxLength: 128 }) }),
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
        security: SECURITY,
        body: Body({
          action: Type.String({ maxLength: 32 }),
          required: Type.Boolean(),
          step_up_token: Type.Optional(StepUpToken),
        }),
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
        security: SECURITY,
        body: Body({ code: Type.String({ maxLength: 64 }), step_up_token: Type.Optional(StepUpToken) }),
        response: { 200: Type.Object({ active_since: Type.String() }), ...PROBLEM_RESPONSES },
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
