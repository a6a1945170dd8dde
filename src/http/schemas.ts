import { type TObject, type TProperties, Type } from '@sinclair/typebox';

/** A request body: unknown fields are refused (with the field named), never silently dropped. */
export function Body<T extends TProperties>(properties: T): TObject<T> {
  return Type.Object(properties, { additionalProperties: false });
}

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    field: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }))),
    request_id: Type.String(),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** The 4xx answers every route may give; listed so OpenAPI documents them. */
export const PROBLEM_RESPONSES = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  429: ProblemSchema,
} as const;

export const Email = Type.String({ maxLength: 254, description: 'email address' });
export const Password = Type.String({ maxLength: 1024, description: '10..128 characters' });
/**
 * Every id Drawbridge hands out is a UUID in lower case (newId() in src/core/ids.ts, the shape isUuid() checks).
 * Ids are checked by that shape at the edge, so a NUL byte or any other junk in one is a 400 naming the field on
 * both engines, never a database error (PostgreSQL refuses NUL in text; SQLite would look it up).
 */
export const ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
export const Id = Type.String({
  pattern: ID_PATTERN,
  maxLength: 36,
  description: 'an id: a lowercase UUID',
});
export const StepUpToken = Type.String({
  maxLength: 128,
  description: 'from POST /v1/auth/step-up for this action',
});

export const ProofSchema = Type.Object(
  {
    method: Type.String({ enum: ['totp', 'recovery_code', 'passkey'] }),
    code: Type.Optional(Type.String({ maxLength: 64 })),
    challenge_id: Type.Optional(Type.String({ maxLength: 64 })),
    response: Type.Optional(Type.Unknown({ description: 'WebAuthn AuthenticationResponseJSON' })),
  },
  {
    additionalProperties: false,
    description: 'A second factor: a TOTP code, a recovery code or a passkey assertion',
  },
);

export const DeviceSchema = Type.Object(
  {
    id: Type.String({ maxLength: 128, description: 'a stable id the client keeps for this device' }),
    platform: Type.String({ maxLength: 64 }),
    jailbroken: Type.Optional(Type.Boolean({ description: 'self-reported integrity signal' })),
  },
  { additionalProperties: false },
);

export const SessionIssued = Type.Object({
  session_id: Type.String(),
  token: Type.String({
    description: 'Bearer token for API clients; the console gets the same in an HttpOnly cookie',
  }),
  csrf_token: Type.String({ description: 'send as x-csrf-token with cookie-authenticated changes' }),
  aal: Type.Integer(),
  expires_at: Type.String(),
});

export const SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { cookie: [] }];

const WITHDRAWAL_LIST_FIELDS = {
  limit: Type.Optional(Type.String({ maxLength: 6, description: '1-200, default 50' })),
  starting_after: Type.Optional(Id),
  state: Type.Optional(Type.String({ maxLength: 32 })),
  asset: Type.Optional(Type.String({ maxLength: 16 })),
  created_from: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601, inclusive' })),
  created_until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601, exclusive' })),
};

/** The query of a customer's own withdrawal list. */
export const WithdrawalListQuery = Type.Object(WITHDRAWAL_LIST_FIELDS, { additionalProperties: false });

/** The operators' search: the same, and any account. */
export const WithdrawalSearchQuery = Type.Object(
  { ...WITHDRAWAL_LIST_FIELDS, account_id: Type.Optional(Id) },
  { additionalProperties: false },
);
