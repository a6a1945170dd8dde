import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import {
  createRuleSet,
  getRuleSet,
  listDisagreements,
  listRuleSets,
  moveRuleSetState,
  type RuleSetMove,
} from '../../services/risk/rule-sets.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, ID_PATTERN, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const RULE_SET_ID = '01a23ab8-88a0-7c11-9b1e-5d0c2b7f4a10';

const EXAMPLE_RULES = [
  { predicate: 'destination_cooled', action: 'time_lock' },
  { predicate: 'security_change_lock', action: 'time_lock' },
  { predicate: 'account_not_locked', action: 'review' },
  { predicate: 'daily_usd_limit', action: 'review', params: { limit_usd: '10000.00' } },
  { predicate: 'fan_in', action: 'reject', params: { min_accounts: 10, window_seconds: 600 } },
];

const Params = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.Number(), Type.String({ maxLength: 64 })]),
);

const RuleSchema = Type.Object({
  predicate: Type.String({ maxLength: 64 }),
  action: Type.String({ maxLength: 32 }),
  params: Type.Optional(Params),
});

const RuleSet = Type.Object(
  {
    id: Type.String(),
    version: Type.Integer(),
    state: Type.String({ enum: ['draft', 'shadow', 'active', 'retired'] }),
    description: Type.String(),
    config: Type.Object({ description: Type.String(), rules: Type.Array(RuleSchema) }),
    created_by: Type.String(),
    created_at: Type.String(),
    shadowed_at: Type.Union([Type.String(), Type.Null()]),
    activated_at: Type.Union([Type.String(), Type.Null()]),
    activated_by: Type.Union([Type.String(), Type.Null()]),
    retired_at: Type.Union([Type.String(), Type.Null()]),
  },
  {
    examples: [
      {
        id: RULE_SET_ID,
        version: 3,
        state: 'shadow',
        description: 'fan-in at 10 accounts',
        config: { description: 'fan-in at 10 accounts', rules: EXAMPLE_RULES },
        created_by: `operator:${EXAMPLE.operatorId}`,
        created_at: '2026-11-28T12:00:00.000Z',
        shadowed_at: '2026-11-28T12:05:00.000Z',
        activated_at: null,
        activated_by: null,
        retired_at: null,
      },
    ],
  },
);

const Evaluation = Type.Object({
  id: Type.String(),
  withdrawal_id: Type.String(),
  rule_set_id: Type.String(),
  rule_set_version: Type.Integer(),
  mode: Type.String({ enum: ['active', 'shadow'] }),
  outcome: Type.String(),
  enforced_outcome: Type.String(),
  results: Type.Array(
    Type.Object({
      rule: Type.String(),
      version: Type.Integer(),
      outcome: Type.String(),
      reason: Type.String(),
      until: Type.Optional(Type.String()),
      critical: Type.Optional(Type.Boolean()),
      numbers: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
  ),
  facts: Type.Record(Type.String(), Type.Unknown()),
  at: Type.String(),
});

const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1 to 200, default 50' })),
    starting_after: Type.Optional(Id),
  },
  { additionalProperties: false },
);

/** /v1/operator/rule-sets: the risk rules as versioned configuration (src/core/risk/rule-sets.ts). */
export function registerRuleSetRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');

  app.get(
    '/v1/operator/rule-sets',
    {
      schema: {
        tags: ['operator'],
        summary: 'Rule sets, newest version first, and which one decides now',
        description:
          'Any operator role. `in_force` is the active set, or `builtin` (version 0) while no set was ever ' +
          'activated. `limit` 1 to 200 (default 50), `starting_after` the last id of the page before.',
        security: SECURITY,
        querystring: PageQuery,
        response: {
          200: Type.Object({
            rule_sets: Type.Array(RuleSet),
            has_more: Type.Boolean(),
            in_force: Type.Object({ id: Type.String(), version: Type.Integer() }),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      listRuleSets(context, actingOperator(authOf(request)), request.query as Record<string, unknown>),
  );

  app.post(
    '/v1/operator/rule-sets',
    {
      schema: {
        tags: ['operator'],
        summary: 'Create a draft rule set from a configuration',
        description:
          'Risk analyst or admin. Each rule names a `predicate` of the fixed catalogue, an `action` ' +
          '(time_lock, review or reject; each predicate allows some) and its `params` (windows in whole ' +
          'seconds, counts, USD as decimal strings such as "10000.00"). destination_cooled and ' +
          'security_change_lock must be kept, at time_lock or stronger. A refusal is a 400 naming the field ' +
          '(`/body/rules/3/params/limit_usd`); nothing running changes. Audited.',
        security: SECURITY,
        body: Body(
          {
            description: Type.Optional(Type.String({ maxLength: 500 })),
            rules: Type.Array(RuleSchema, { maxItems: 50 }),
          },
          { examples: [{ description: 'fan-in at 10 accounts', rules: EXAMPLE_RULES }] },
        ),
        response: { 201: RuleSet, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) =>
      reply.status(201).send(await createRuleSet(context, actingOperator(authOf(request)), request.body)),
  );

  app.get(
    '/v1/operator/rule-sets/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'One rule set (`builtin` for the built-in one)',
        description: 'Any operator role. An unknown id is 404.',
        security: SECURITY,
        params: Type.Object({
          id: Type.String({
            pattern: `${ID_PATTERN}|^builtin$`,
            maxLength: 36,
            description: 'an id, or builtin',
          }),
        }),
        response: { 200: RuleSet, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      getRuleSet(context, actingOperator(authOf(request)), (request.params as { id: string }).id),
  );

  const MOVE_SUMMARY: Record<RuleSetMove, [string, string]> = {
    shadow: [
      'Put a draft rule set in shadow: it runs beside the active set and enforces nothing',
      'Risk analyst or admin: a draft runs beside the active set on the same facts and enforces nothing; ' +
        'the set in shadow before it is retired. Audited. Not a draft: 409 WRONG_STATE.',
    ],
    activate: [
      'Activate a rule set: it decides from now on, the active one before it is retired',
      'Risk analyst or admin: a draft or shadow set becomes the one active set (the database refuses a ' +
        'second); the active set before it is retired in the same transaction. Maker-checker: the operator ' +
        'who wrote the set cannot activate it (409 SAME_OPERATOR; the database refuses it too). Audited.',
    ],
    retire: [
      'Retire a draft or shadow rule set',
      'Risk analyst or admin. The active set is retired only by activating another (409 WRONG_STATE). Audited.',
    ],
  };
  for (const move of ['shadow', 'activate', 'retire'] as const) {
    const [summary, description] = MOVE_SUMMARY[move];
    app.post(
      `/v1/operator/rule-sets/:id/${move}`,
      {
        schema: {
          tags: ['operator'],
          summary,
          description,
          security: SECURITY,
          params: Type.Object({ id: Id }),
          response: { 200: RuleSet, ...PROBLEM_RESPONSES },
        },
        ...operator,
      },
      async (request) =>
        moveRuleSetState(
          context,
          actingOperator(authOf(request)),
          (request.params as { id: string }).id,
          move,
        ),
    );
  }

  app.get(
    '/v1/operator/rule-sets/:id/disagreements',
    {
      schema: {
        tags: ['operator'],
        summary: "Where a rule set (in shadow) decided otherwise than what was enforced: the set's test run",
        description:
          'Any operator role: each evaluation of the set whose outcome differed from the enforced one, with ' +
          'every rule result and the facts used, oldest first. `limit` 1 to 200 (default 50), ' +
          '`starting_after` the last evaluation id of the page before.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        querystring: PageQuery,
        response: {
          200: Type.Object({ disagreements: Type.Array(Evaluation), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      listDisagreements(
        context,
        actingOperator(authOf(request)),
        (request.params as { id: string }).id,
        request.query as Record<string, unknown>,
      ),
  );
}
