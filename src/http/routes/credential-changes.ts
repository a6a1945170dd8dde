import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import {
  completePasswordReset,
  confirmEmailChange,
  requestEmailChange,
  requestPasswordReset,
} from '../../services/identity/credential-changes.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, Email, Password, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Token = Type.String({ maxLength: 128, description: 'the code from the email' });

export function registerCredentialChangeRoutes(app: FastifyInstance, context: ServiceContext) {
  app.post(
    '/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Email a password-reset code (same answer whether or not the account exists)',
        body: Body({ email: Email }),
        response: { 202: Type.Object({ status: Type.String() }), ...PROBLEM_RESPONSES },
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(await requestPasswordReset(context, request.body as { email: string }, requestMeta(request))),
  );

  app.post(
    '/v1/auth/password-reset/complete',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Set a new password with the code: every session ends and withdrawals pause (security-change lock)',
        body: Body({ token: Token, password: Password }),
        response: {
          200: Type.Object({ status: Type.String(), withdrawals_locked_until: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request) =>
      completePasswordReset(context, request.body as Record<string, unknown>, requestMeta(request)),
  );

  app.post(
    '/v1/account/email-change',
    {
      schema: {
        tags: ['account'],
        summary:
          'Ask to change my email (step-up "email.change"); the new address confirms, the old one is told',
        security: SECURITY,
        body: Body({ new_email: Email, step_up_token: Type.Optional(StepUpToken) }),
        response: { 202: Type.Object({ status: Type.String() }), ...PROBLEM_RESPONSES },
      },
      ...requireSession(context, 'customer'),
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(
          await requestEmailChange(
            context,
            authOf(request),
            request.body as Record<string, unknown>,
            requestMeta(request),
          ),
        ),
  );

  app.post(
    '/v1/account/email-change/confirm',
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm the new email with the code sent to it (starts the security-change lock)',
        body: Body({ token: Token }),
        response: {
          200: Type.Object({ status: Type.String(), withdrawals_locked_until: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request) => confirmEmailChange(context, request.body as { token: string }, requestMeta(request)),
  );
}
