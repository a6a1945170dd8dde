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
import { Body, Email, EXAMPLE, Password, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Token = Type.String({ maxLength: 128, description: 'the code from the email' });

export function registerCredentialChangeRoutes(app: FastifyInstance, context: ServiceContext) {
  app.post(
    '/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Email a password-reset code (same answer whether or not the account exists)',
        description:
          'Anyone may call it. When the email belongs to a verified customer, emails a reset code valid one ' +
          'hour (any earlier code stops working); the answer is the same 202 either way, so it tells nobody ' +
          'whether an account exists. Then POST /v1/auth/password-reset/complete; rate-limited per IP ' +
          '(429).',
        body: Body({ email: Email }, { examples: [{ email: 'ada@example.com' }] }),
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
        description:
          'Anyone holding the emailed code; no session needed. Sets the new password (10 to 128 ' +
          'characters), ends every session of the account, starts the security-change lock (withdrawals ' +
          'confirmed before `withdrawals_locked_until`, 24 h later by default, are time-locked until then) ' +
          'and sends a security email; then sign in again. A used, expired or unknown code is a 400 naming ' +
          '`token`; rate-limited per IP (429).',
        body: Body(
          { token: Token, password: Password },
          {
            examples: [
              { token: 'Rz7p2Kq9vT4xB1mN6cW3dL8sF0hJ5gY2aE7uI4oQ1kZ', password: 'a new long passphrase' },
            ],
          },
        ),
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
        description:
          'For the signed-in customer, with a step-up token for `email.change` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action). Emails a confirmation code, valid 24 hours, to `new_email` ' +
          'and tells the current address; nothing changes until POST /v1/account/email-change/confirm. An ' +
          'address of another account is 409 ALREADY_EXISTS, the current address a 400.',
        security: SECURITY,
        body: Body(
          { new_email: Email, step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ new_email: 'ada.lovelace@example.org', step_up_token: EXAMPLE.stepUpToken }] },
        ),
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
        description:
          "Anyone holding the code sent to the new address; no session needed. Makes it the account's " +
          'email, already verified, starts the security-change lock (withdrawals confirmed before ' +
          '`withdrawals_locked_until`, 24 h later by default, are time-locked until then) and tells both ' +
          'addresses. A used, expired or unknown code is a 400 naming `token`, an address taken meanwhile ' +
          '409 ALREADY_EXISTS; rate-limited per IP (429).',
        body: Body(
          { token: Token },
          { examples: [{ token: 'Cf5n8Jw2qX7bT0kR3mZ9vD6sL1hP4gY8aE2uI5oN0tQ' }] },
        ),
        response: {
          200: Type.Object({ status: Type.String(), withdrawals_locked_until: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request) => confirmEmailChange(context, request.body as { token: string }, requestMeta(request)),
  );
}
