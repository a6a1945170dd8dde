import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import {
  confirmTotpEnrolment,
  listFactors,
  passkeyRegistrationOptions,
  regenerateRecoveryCodes,
  registerPasskey,
  removeFactor,
  startTotpEnrolment,
} from '../../services/identity/mfa-enrolment.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const Enrolled = Type.Object({
  factor_id: Type.String(),
  status: Type.String(),
  recovery_codes: Type.Optional(
    Type.Array(Type.String(), { description: 'shown once, at the first enrolment' }),
  ),
  withdrawals_locked_until: Type.String(),
});

export function registerMfaRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/mfa/factors',
    {
      schema: {
        tags: ['mfa'],
        summary: 'My second factors',
        security: SECURITY,
        response: {
          200: Type.Object({ factors: Type.Array(Type.Unknown()), recovery_codes_left: Type.Integer() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => listFactors(context, authOf(request)),
  );

  app.post(
    '/v1/mfa/totp',
    {
      config: { idempotencyStoresResponse: false },
      schema: {
        tags: ['mfa'],
        summary: 'Start enrolling an authenticator app: the otpauth:// URI and its QR code',
        security: SECURITY,
        body: Body({
          label: Type.Optional(Type.String({ maxLength: 64 })),
          step_up_token: Type.Optional(StepUpToken),
        }),
        response: {
          201: Type.Object({ factor_id: Type.String(), otpauth_uri: Type.String(), qr_svg: Type.String() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await startTotpEnrolment(context, authOf(request), (request.body ?? {}) as Record<string, unknown>),
        ),
  );

  app.post(
    '/v1/mfa/totp/:id/confirm',
    {
      config: { idempotencyStoresResponse: false },
      schema: {
        tags: ['mfa'],
        summary: 'Activate the authenticator with one valid code (starts the 24 h security-change lock)',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ code: Type.String({ maxLength: 16 }) }),
        response: { 200: Enrolled, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request) =>
      confirmTotpEnrolment(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        request.body as { code: string },
        requestMeta(request),
      ),
  );

  app.post(
    '/v1/mfa/passkeys/options',
    {
      schema: {
        tags: ['mfa'],
        summary: 'WebAuthn registration options for a new passkey',
        security: SECURITY,
        body: Body({ step_up_token: Type.Optional(StepUpToken) }),
        response: {
          200: Type.Object({
            challenge_id: Type.String(),
            expires_at: Type.String(),
            options: Type.Unknown(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) =>
      passkeyRegistrationOptions(context, authOf(request), (request.body ?? {}) as Record<string, unknown>),
  );

  app.post(
    '/v1/mfa/passkeys',
    {
      config: { idempotencyStoresResponse: false },
      schema: {
        tags: ['mfa'],
        summary: 'Register a passkey with the authenticator response',
        security: SECURITY,
        body: Body({
          challenge_id: Type.String({ maxLength: 64 }),
          response: Type.Unknown(),
          label: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 201: Enrolled, ...PROBLEM_RESPONSES },
      },
      ...customer,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await registerPasskey(
            context,
            authOf(request),
            request.body as Record<string, unknown>,
            requestMeta(request),
          ),
        ),
  );

  app.post(
    '/v1/mfa/recovery-codes',
    {
      config: { idempotencyStoresResponse: false },
      schema: {
        tags: ['mfa'],
        summary: 'Replace my recovery codes (step-up "recovery_codes.regenerate")',
        security: SECURITY,
        body: Body({ step_up_token: Type.Optional(StepUpToken) }),
        response: {
          200: Type.Object({
            recovery_codes: Type.Array(Type.String()),
            withdrawals_locked_until: Type.String(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) =>
      regenerateRecoveryCodes(
        context,
        authOf(request),
        request.body as Record<string, unknown>,
        requestMeta(request),
      ),
  );

  app.delete(
    '/v1/mfa/factors/:id',
    {
      schema: {
        tags: ['mfa'],
        summary: 'Remove a second factor (step-up "mfa.remove"; starts the security-change lock)',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ step_up_token: Type.Optional(StepUpToken) }),
        response: {
          200: Type.Object({
            factor_id: Type.String(),
            status: Type.String(),
            withdrawals_locked_until: Type.String(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) =>
      removeFactor(
        context,
        authOf(request),
        (request.params as { id: string }).id,
        request.body as Record<string, unknown>,
        requestMeta(request),
      ),
  );
}
