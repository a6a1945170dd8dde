import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { loginPasskeyChallenge } from '../../services/identity/passkey-login.ts';
import { requestMeta } from '../auth.ts';
import { Body, Email, PROBLEM_RESPONSES } from '../schemas.ts';

export function registerPasskeyLoginRoutes(app: FastifyInstance, context: ServiceContext) {
  app.post(
    '/v1/auth/login/passkey-challenge',
    {
      schema: {
        tags: ['auth'],
        summary:
          'A WebAuthn challenge for signing in with a passkey (same shape of answer whether or not the email has one)',
        body: Body({ email: Email }),
        response: {
          200: Type.Object({
            challenge_id: Type.String({
              description: 'send back as proof.challenge_id with POST /v1/auth/login',
            }),
            expires_at: Type.String(),
            options: Type.Unknown({ description: 'PublicKeyCredentialRequestOptionsJSON' }),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
    },
    async (request) =>
      loginPasskeyChallenge(context, request.body as { email: string }, requestMeta(request)),
  );
}
