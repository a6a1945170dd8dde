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
  sendReenrolmentLink,
  startTotpEnrolment,
} from '../../services/identity/mfa-enrolment.ts';
import { authOf, requestMeta, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY, StepUpToken } from '../schemas.ts';

const RECOVERY_CODES_EXAMPLE = [
  'k7m2-9qxh-3tv8-p4wd',
  'a1b2-c3d4-e5f6-g7h8',
  'zq9r-8s7t-6v5w-4x3y',
  'm3n4-p5q6-r7s8-t9v0',
  'b8c7-d6e5-f4g3-h2j1',
  'w2x3-y4z5-a6b7-c8d9',
  'e1f2-g3h4-j5k6-m7n8',
  'p9q8-r7s6-t5v4-w3x2',
  'y1z2-a3b4-c5d6-e7f8',
  'g9h8-j7k6-m5n4-p3q2',
];

const Enrolled = Type.Object(
  {
    factor_id: Type.String(),
    status: Type.String(),
    recovery_codes: Type.Optional(
      Type.Array(Type.String(), { description: 'shown once, at the first enrolment' }),
    ),
    withdrawals_locked_until: Type.String(),
  },
  {
    examples: [
      {
        factor_id: EXAMPLE.factorId,
        status: 'active',
        recovery_codes: RECOVERY_CODES_EXAMPLE,
        withdrawals_locked_until: '2026-11-28T12:00:00.000Z',
      },
    ],
  },
);

const ReenrolmentToken = Type.String({
  maxLength: 128,
  description:
    'from the email POST /v1/mfa/reenrolment-link sends, when a revoked second factor is enrolled again',
});

export function registerMfaRoutes(app: FastifyInstance, context: ServiceContext) {
  const customer = requireSession(context, 'customer');

  app.get(
    '/v1/mfa/factors',
    {
      schema: {
        tags: ['mfa'],
        summary: 'My second factors',
        description:
          'For the signed-in customer: their authenticator apps and passkeys, by id, method, label and ' +
          'activation time (never a secret), and how many unused recovery codes are left.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { factors: Type.Array(Type.Unknown()), recovery_codes_left: Type.Integer() },
            {
              examples: [
                {
                  factors: [
                    {
                      id: EXAMPLE.factorId,
                      method: 'totp',
                      label: 'Authenticator app',
                      activated_at: '2026-11-27T12:00:00.000Z',
                    },
                  ],
                  recovery_codes_left: 10,
                },
              ],
            },
          ),
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
        description:
          'For the signed-in customer. Starts a pending authenticator: its `otpauth://` URI and the same as ' +
          'an SVG QR code to scan; activate it with POST /v1/mfa/totp/{id}/confirm. The very first factor ' +
          'needs no step-up; with an authenticator or passkey already active, send a step-up token for ' +
          '`mfa.enroll` (403 STEP_UP_REQUIRED without one). An account whose factors were revoked (after an ' +
          'incident, say) sends the `reenrolment_token` emailed by POST /v1/mfa/reenrolment-link, or a ' +
          'step-up made with a recovery code (403 REENROLMENT_REQUIRED without). The answer carries the secret, so an ' +
          'Idempotency-Key is honoured but the answer is not stored.',
        security: SECURITY,
        body: Body(
          {
            label: Type.Optional(Type.String({ maxLength: 64 })),
            step_up_token: Type.Optional(StepUpToken),
            reenrolment_token: Type.Optional(ReenrolmentToken),
          },
          { examples: [{ label: 'Phone' }] },
        ),
        response: {
          201: Type.Object(
            { factor_id: Type.String(), otpauth_uri: Type.String(), qr_svg: Type.String() },
            {
              examples: [
                {
                  factor_id: EXAMPLE.factorId,
                  otpauth_uri:
                    'otpauth://totp/Drawbridge:ada%40example.com?issuer=Drawbridge&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
                  qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 41 41">…</svg>',
                },
              ],
            },
          ),
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
        description:
          'For the signed-in customer, with one current code from the new authenticator. Activates it ' +
          '(replacing any older authenticator), raises this session to AAL2, returns ten recovery codes ' +
          'once when the account has none, starts the security-change lock (withdrawals confirmed before ' +
          '`withdrawals_locked_until`, 24 h later by default, are time-locked until then) and sends a ' +
          'security email. A code that does not match is a 400 naming `code`; an unknown or already active ' +
          'enrolment is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ code: Type.String({ maxLength: 16 }) }, { examples: [{ code: '492039' }] }),
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
    '/v1/mfa/reenrolment-link',
    {
      schema: {
        tags: ['mfa'],
        summary: 'Email a single-use link to enrol a revoked second factor again',
        description:
          'For the signed-in customer whose authenticator or passkey was revoked (a mass MFA revocation after ' +
          'an incident, an operator, a removal): sends their verified email a link with a `reenrolment_token`, ' +
          'single-use and valid 30 minutes, that POST /v1/mfa/totp or /v1/mfa/passkeys/options then needs. ' +
          'Someone who holds only the password never sees it. 409 WRONG_STATE when the account can enrol ' +
          'without one; 403 EMAIL_NOT_VERIFIED without a verified email.',
        security: SECURITY,
        response: {
          200: Type.Object(
            { sent: Type.Boolean(), expires_at: Type.String() },
            { examples: [{ sent: true, expires_at: '2026-11-28T12:30:00.000Z' }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...customer,
    },
    async (request) => sendReenrolmentLink(context, authOf(request), requestMeta(request)),
  );

  app.post(
    '/v1/mfa/passkeys/options',
    {
      schema: {
        tags: ['mfa'],
        summary: 'WebAuthn registration options for a new passkey',
        description:
          'For the signed-in customer, before POST /v1/mfa/passkeys: WebAuthn registration options ' +
          '(excluding passkeys already registered) with a single-use challenge valid 5 minutes. The first ' +
          'factor needs no step-up; with an authenticator or passkey already active, send a step-up token ' +
          'for `mfa.enroll` (403 STEP_UP_REQUIRED without one). An account whose factors were revoked sends ' +
          'the `reenrolment_token` from POST /v1/mfa/reenrolment-link (403 REENROLMENT_REQUIRED without).',
        security: SECURITY,
        body: Body(
          { step_up_token: Type.Optional(StepUpToken), reenrolment_token: Type.Optional(ReenrolmentToken) },
          { examples: [{ step_up_token: EXAMPLE.stepUpToken }] },
        ),
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
        description:
          "For the signed-in customer: the authenticator's answer to the challenge from POST " +
          '/v1/mfa/passkeys/options. Activates the passkey, raises this session to AAL2, returns ten ' +
          'recovery codes once when the account has none, starts the security-change lock (withdrawals ' +
          'confirmed before `withdrawals_locked_until`, 24 h later by default, are time-locked until then) ' +
          'and sends a security email. An expired, used or unknown challenge is a 400 naming ' +
          '`challenge_id`; a passkey already registered is 409 ALREADY_EXISTS.',
        security: SECURITY,
        body: Body(
          {
            challenge_id: Type.String({ maxLength: 64 }),
            response: Type.Unknown({ description: 'WebAuthn RegistrationResponseJSON' }),
            label: Type.Optional(Type.String({ maxLength: 64 })),
          },
          {
            examples: [
              {
                challenge_id: 'Hc3kQ9tZ0wV6yB1nM4xR7sL2pD8fJ5gA0eU3iO6qT9m',
                response: {
                  id: 'mF3tq0x4Qk2Vb9zL7cR1sN8dW5pY6hJ0gA3eK7uI4oZ',
                  rawId: 'mF3tq0x4Qk2Vb9zL7cR1sN8dW5pY6hJ0gA3eK7uI4oZ',
                  type: 'public-key',
                  response: {
                    clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIi…',
                    attestationObject: 'o2NmbXRkbm9uZ…',
                  },
                  clientExtensionResults: {},
                },
                label: 'YubiKey 5C',
              },
            ],
          },
        ),
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
        description:
          'For the signed-in customer, with a step-up token for `recovery_codes.regenerate` (without one: ' +
          '403 STEP_UP_REQUIRED naming the action). Replaces every recovery code with ten new ones, shown ' +
          'in this answer only (an Idempotency-Key is honoured, the answer not stored), starts the ' +
          'security-change lock (withdrawals confirmed before `withdrawals_locked_until`, 24 h later by ' +
          'default, are time-locked until then) and sends a security email.',
        security: SECURITY,
        body: Body(
          { step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: {
          200: Type.Object(
            {
              recovery_codes: Type.Array(Type.String()),
              withdrawals_locked_until: Type.String(),
            },
            {
              examples: [
                {
                  recovery_codes: RECOVERY_CODES_EXAMPLE,
                  withdrawals_locked_until: '2026-11-29T12:05:00.000Z',
                },
              ],
            },
          ),
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
        description:
          'For the signed-in customer, with a step-up token for `mfa.remove` (without one: 403 ' +
          'STEP_UP_REQUIRED naming the action) in the body. Removes one active authenticator or passkey ' +
          '(recovery codes are replaced, not removed), starts the security-change lock (withdrawals ' +
          'confirmed before `withdrawals_locked_until`, 24 h later by default, are time-locked until then) ' +
          'and sends a security email. An unknown or inactive factor is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { step_up_token: Type.Optional(StepUpToken) },
          { examples: [{ step_up_token: EXAMPLE.stepUpToken }] },
        ),
        response: {
          200: Type.Object(
            {
              factor_id: Type.String(),
              status: Type.String(),
              withdrawals_locked_until: Type.String(),
            },
            {
              examples: [
                {
                  factor_id: EXAMPLE.factorId,
                  status: 'removed',
                  withdrawals_locked_until: '2026-11-29T12:05:00.000Z',
                },
              ],
            },
          ),
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
