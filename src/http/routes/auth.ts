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
  EXAMPLE,
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
        description:
          'Anyone may call it. Creates a customer account, with a second factor required for every action ' +
          'type, and emails a link to confirm the address, valid 24 hours (signing in before that is 403 ' +
          'EMAIL_NOT_VERIFIED). The answer is the same 202 whether or not the email is registered: the ' +
          'owner of a verified account is emailed instead, and signing up again with an unconfirmed address ' +
          'sets the new password and sends a fresh link. The password is 10 to 128 characters (400 ' +
          'otherwise); sign-ups are rate-limited per IP (429).',
        body: Body(
          { email: Email, password: Password },
          { examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }] },
        ),
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
          description:
            "The URL in the verification email, for a person's browser; no session needed. Answers a small " +
            'HTML page, without script, whose button POSTs the token to this same path: opening the link, or ' +
            'a mail scanner fetching it, changes nothing and spends nothing.',
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
          description:
            "What the verification page's button sends; no session needed. Spends the single-use token (valid " +
            '24 hours) and marks the address confirmed; then sign in with POST /v1/auth/login. A form post ' +
            '(`application/x-www-form-urlencoded`) gets an HTML page back, a JSON request `{"status": ' +
            '"verified"}`; an unknown, used or expired token is a 400 naming `token`, and attempts are ' +
            'rate-limited per IP (429).',
          consumes: ['application/json', FORM_CONTENT_TYPE],
          produces: ['application/json', 'text/html'],
          body: Body(
            { token: Type.String({ maxLength: 128 }) },
            { examples: [{ token: 'Vb8c0Q2nZ5mL1xT7rK3dF9hJ6wP4sA0eY2uI8oG5qN1' }] },
          ),
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
        description:
          'Customers sign in here (operators at POST /v1/operator/login): the password, with `proof` when a ' +
          'second factor is needed, which by default it is once the customer has one (the `login` row of ' +
          'GET /v1/account/mfa-policy). A right password without a needed proof is 401 MFA_REQUIRED, ' +
          'listing in `methods` the `proof.method` values the account answers to; a wrong password or ' +
          'factor is always the same 401 INVALID_CREDENTIALS. A locked account is 403 ACCOUNT_LOCKED, an ' +
          'unconfirmed email 403 EMAIL_NOT_VERIFIED, too many attempts 429 (RATE_LIMITED, or MFA_LOCKED ' +
          "after repeated wrong factors). The answer's `token` is a bearer token and the same session is " +
          'set as an HttpOnly cookie; `aal` is 2 when a second factor was given, and a `device` report is ' +
          'recorded (a new device is emailed about).',
        body: Body(
          {
            email: Email,
            password: Password,
            proof: Type.Optional(ProofSchema),
            device: Type.Optional(DeviceSchema),
          },
          {
            examples: [
              {
                email: 'ada@example.com',
                password: 'correct horse battery staple',
                proof: EXAMPLE.proof,
                device: { id: 'ios-7f3c2a91d4e8', platform: 'ios' },
              },
            ],
          },
        ),
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
        description:
          'Any signed-in customer or operator: ends the calling session and clears the session cookie; the ' +
          'token is refused from then on. 204, no body.',
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
        description:
          'Any signed-in customer or operator, before POST /v1/auth/step-up with a passkey. Returns ' +
          "WebAuthn request options for the account's passkeys whose challenge is derived from `action` (a " +
          'step-up action such as `address_book.add`, `mfa.remove` or `email.change`; anything else is a ' +
          '400), single-use and valid 5 minutes; sign it and send `proof: {"method": "passkey", ' +
          '"challenge_id", "response"}`.',
        security: SECURITY,
        body: Body(
          { action: Type.String({ maxLength: 64 }) },
          { examples: [{ action: 'address_book.add' }] },
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
        description:
          'Any signed-in customer or operator. Checks a fresh second factor for one `action` (mfa.enroll, ' +
          'mfa.remove, mfa.policy, recovery_codes.regenerate, anti_phishing.set, email.change, ' +
          'address_book.add, address_book.remove or address_book.settings) and returns a `step_up_token` ' +
          'that only that action accepts, once, in this session, within 5 minutes: send it as ' +
          '`step_up_token` with the change. A wrong factor is 401 INVALID_CREDENTIALS (repeated, 429 ' +
          'MFA_LOCKED), the TOTP code this session has just used 409 TOTP_ALREADY_USED (wait for the next ' +
          'one); an Idempotency-Key is honoured but this answer, which carries the token, is not stored.',
        security: SECURITY,
        body: Body(
          { action: Type.String({ maxLength: 64 }), proof: ProofSchema },
          { examples: [{ action: 'address_book.add', proof: EXAMPLE.proof }] },
        ),
        response: {
          200: Type.Object(
            { step_up_token: StepUpToken, action: Type.String(), expires_at: Type.String() },
            {
              examples: [
                {
                  step_up_token: EXAMPLE.stepUpToken,
                  action: 'address_book.add',
                  expires_at: '2026-11-28T12:06:31.000Z',
                },
              ],
            },
          ),
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
