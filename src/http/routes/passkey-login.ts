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
        description:
          'Anyone may call it, before POST /v1/auth/login with the password and `proof: {"method": ' +
          '"passkey", "challenge_id", "response"}`. A verified customer with a passkey gets a real ' +
          'single-use challenge valid 5 minutes; any other email gets a decoy of the same shape, so the ' +
          'answer never tells whether an account exists and the sign-in that follows fails as any wrong ' +
          'credential does (401 INVALID_CREDENTIALS). Rate-limited per IP (429).',
        body: Body({ email: Email }, { examples: [{ email: 'ada@example.com' }] }),
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
