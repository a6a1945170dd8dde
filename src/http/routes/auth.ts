import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { login, parseDeviceReport } from '../../services/identity/login.ts';
import { logout } from '../../services/identity/sessions.ts';
import { signUp, verifyEmail } from '../../services/identity/signup.ts';
import { stepUp, stepUpPasskeyChallenge } from '../../services/identity/step-up.ts';
import { authOf, clearSessionCookie, requestMeta, requireSession, sessionIssued } from '../auth.ts';
import { emailLinkRoutes, FORM_CONTENT_TYPE, sendPage, wantsPage } from '../email-links.ts';
import {
  Body,
  DeviceSchema,
  Email,
  Password,
  PROBLEM_RESPONSES,
  ProofSchema,
  SECURITY,
  SessionIssued,
  StepUpToken,
} from '../schemas.ts';

export function registerAuthRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  options: { cookieSecure: boolean },
) {
  app.post(
    '/v1/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Create a customer account; a verification link is emailed (same answer if the email exists)',
        body: Body({ email: Email, password: Password }),
        response: { 202: Type.Object({ status: Type.Literal('verification_sent') }), ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => {
      const result = await signUp(
        context,
        request.body as { email: string; password: string },
        requestMeta(request),
      );
      return reply.status(202).send(result);
    },
  );

  emailLinkRoutes(app, (scope) => {
    scope.get(
      '/v1/auth/verify-email',
      {
        schema: {
          tags: ['auth'],
          summary:
            'The link in the verification email: a page whose button confirms the address (opening it changes nothing)',
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
          title: 'Confirm your email address',
          paragraphs: [
            'Press the button to confirm this email address and finish creating your Drawbridge account.',
            'Nothing has changed yet; opening this page does nothing on its own.',
          ],
          form: {
            action: 'verify-email',
            token: (request.query as { token: string }).token,
            button: 'Confirm my email',
          },
        }),
    );

    scope.post(
      '/v1/auth/verify-email',
      {
        schema: {
          tags: ['auth'],
          summary:
            'Confirm an email address with the token from the verification email (what its page sends)',
          consumes: ['application/json', FORM_CONTENT_TYPE],
          produces: ['application/json', 'text/html'],
          body: Body({ token: Type.String({ maxLength: 128 }) }),
          response: { 200: Type.Object({ status: Type.Literal('verified') }), ...PROBLEM_RESPONSES },
        },
      },
      async (request, reply) => {
        const result = await verifyEmail(
          context,
          (request.body as { token: string }).token,
          requestMeta(request),
        );
        if (!wantsPage(request)) return result;
        return sendPage(reply, {
          title: 'Email address confirmed',
          paragraphs: ['Your email address is confirmed. You can sign in to Drawbridge now.'],
        });
      },
    );
  });

  app.post(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with password and, when the policy asks, a second factor in the same request',
        body: Body({
          email: Email,
          password: Password,
          proof: Type.Optional(ProofSchema),
          device: Type.Optional(DeviceSchema),
        }),
        response: { 200: SessionIssued, ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body as { email: string; password: string; proof?: unknown; device?: unknown };
      const session = await login(
        context,
        'customer',
        body,
        requestMeta(request, parseDeviceReport(body.device)),
      );
      return sessionIssued(reply, session, options.cookieSecure);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End this session',
        security: SECURITY,
        response: { 204: Type.Null(), ...PROBLEM_RESPONSES },
      },
      ...requireSession(context),
    },
    async (request, reply) => {
      await logout(context, authOf(request));
      clearSessionCookie(reply, options.cookieSecure);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/auth/step-up/passkey-challenge',
    {
      schema: {
        tags: ['auth'],
        summary: 'A WebAuthn challenge derived from the action to approve',
        security: SECURITY,
        body: Body({ action: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({
            challenge_id: Type.String(),
            expires_at: Type.String(),
            options: Type.Unknown(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...requireSession(context),
    },
    async (request) =>
      stepUpPasskeyChallenge(context, authOf(request), (request.body as { action: string }).action),
  );

  app.post(
    '/v1/auth/step-up',
    {
      config: { idempotencyStoresResponse: false },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a fresh second factor for a single-use proof naming one action (valid 5 minutes)',
        security: SECURITY,
        body: Body({ action: Type.String({ maxLength: 64 }), proof: ProofSchema }),
        response: {
          200: Type.Object({ step_up_token: StepUpToken, action: Type.String(), expires_at: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...requireSession(context),
    },
    async (request) =>
      stepUp(
        context,
        authOf(request),
        request.body as { action: string; proof: unknown },
        requestMeta(request),
      ),
  );
}
