import { type ObjectOptions, type TObject, type TProperties, Type } from '@sinclair/typebox';

/**
 * A request body: unknown fields are refused (with the field named), never silently dropped. `options` carries
 * documentation only (`examples`, `description`); the rule on unknown fields is not an option.
 */
export function Body<T extends TProperties>(
  properties: T,
  options: Pick<ObjectOptions, 'examples' | 'description'> = {},
): TObject<T> {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/**
 * The values the reference's examples share, so one withdrawal, customer or entry reads the same in every
 * operation: ids as newId() makes them (lowercase UUIDv7), times in ISO-8601 UTC. Documentation only.
 */
export const EXAMPLE = {
  customerId: '01a23ab8-84b9-714e-84d2-8b5e22eda6b9',
  operatorId: '01a23ab8-8720-7b7b-ad9d-41385b6eca86',
  withdrawalId: '01a23ab8-861a-71f0-9944-fc75e165591c',
  destinationId: '01a23ab8-85ae-7ce1-937b-30ca87bb88c0',
  sessionId: '01a23ab8-8605-7af0-bd50-dd52fda3ca4f',
  factorId: '01a23ab8-855a-7f50-8160-b7136816d941',
  haltId: '01a23ab8-8768-78e9-be18-f7c8ae4f11b1',
  webhookId: '01a23ab8-87c4-7de0-a370-16a2c8fff591',
  deliveryId: '01a23ab8-87e0-7d01-8fae-e1af7c683e6d',
  eventId: '01a23ab8-87e0-7d01-8fae-e1ae916fb703',
  btcAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
  stepUpToken: '7ZWiWKE9fdqFO23Di8Xh5bcO_e9JY09ejw_DZal3pRk',
  proof: { method: 'totp', code: '492039' },
} as const;

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

export const SessionIssued = Type.Object(
  {
    session_id: Type.String(),
    token: Type.String({
      description: 'Bearer token for API clients; the console gets the same in an HttpOnly cookie',
    }),
    csrf_token: Type.String({ description: 'send as x-csrf-token with cookie-authenticated changes' }),
    aal: Type.Integer(),
    expires_at: Type.String(),
  },
  {
    examples: [
      {
        session_id: EXAMPLE.sessionId,
        token: 'q3Zb0cXn0m7cS1yF4nYd6VJtq2oW8u5rE9kPzA1hL0s',
        csrf_token: 'Xg2pT6wq9bN0cR4mV8zK1sL5hJ3yF7dA2eU6iO0tQ9w',
        aal: 2,
        expires_at: '2026-11-29T00:01:01.000Z',
      },
    ],
  },
);

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
