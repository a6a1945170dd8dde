import type { OpenAPIV3_1 } from 'openapi-types';

type Document = OpenAPIV3_1.Document;
type Operation = OpenAPIV3_1.OperationObject;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const MUTATING = new Set(['put', 'post', 'delete', 'patch']);

/**
 * The document the route schemas make, finished in one place: every 4xx answer is declared as
 * `application/problem+json` with the one shared Problem schema (RFC 9457), and every authenticated change
 * documents the `Idempotency-Key` header it accepts. Route files keep declaring PROBLEM_RESPONSES as they do.
 */
export function finishDocument(document: Document): Document {
  const components = document.components ?? {};
  components.schemas = { ...components.schemas, Problem: PROBLEM };
  components.parameters = { ...components.parameters, IdempotencyKey: IDEMPOTENCY_KEY };
  document.components = components;
  for (const path of Object.values(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = path?.[method] as Operation | undefined;
      if (operation === undefined) continue;
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!/^4\d\d$/.test(status) || response === undefined || '$ref' in response) continue;
        response.content = {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        };
      }
      if (MUTATING.has(method) && operation.security !== undefined && operation.security.length > 0) {
        operation.parameters = [
          ...(operation.parameters ?? []),
          { $ref: '#/components/parameters/IdempotencyKey' },
        ];
      }
    }
  }
  return document;
}

const PROBLEM: OpenAPIV3_1.SchemaObject = {
  type: 'object',
  description:
    'RFC 9457 problem details. `code` is stable for clients to react to; `field` names the input at fault as a ' +
    'JSON pointer (RFC 6901) into the request (`/body/amount`, `/body/events/1`, `/query/limit`, `/params/id`, ' +
    '`/headers/x-csrf-token`); `errors` lists every field at fault.',
  required: ['type', 'title', 'status', 'detail', 'code', 'request_id'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', examples: ['INVALID_INPUT', 'WRONG_STATE', 'INSUFFICIENT_FUNDS'] },
    field: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, reason: { type: 'string' } },
        required: ['field', 'reason'],
      },
    },
    request_id: { type: 'string' },
  },
  additionalProperties: true,
  examples: [
    {
      type: 'https://drawbridge.dev/problems/invalid-input',
      title: 'Invalid input',
      status: 400,
      detail: 'amount: must be at least the fee (0.0001 BTC)',
      instance: '/v1/withdrawals',
      code: 'INVALID_INPUT',
      field: '/body/amount',
      errors: [{ field: '/body/amount', reason: 'must be at least the fee (0.0001 BTC)' }],
      request_id: '0193a9c2-5f1e-7a7b-9d1e-3c1f2b4a5d6e',
    },
  ],
};

const IDEMPOTENCY_KEY: OpenAPIV3_1.ParameterObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Any 1-255 printable characters, unique per change you mean to make. A retry with the same key and body ' +
    'gets the first answer again (`idempotent-replayed: true`) and changes nothing; the same key with another ' +
    'body is a 422 IDEMPOTENCY_MISMATCH; while the first is still running, a 409 IDEMPOTENCY_IN_PROGRESS. Keys ' +
    'are scoped to the caller and kept for 24 hours.',
  schema: { type: 'string', maxLength: 255 },
};
