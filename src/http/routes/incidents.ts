import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import {
  AFFECTED_PAGE,
  listAffectedAccounts,
  listAffectedWithdrawals,
  MARK_MAX,
  markFromMonitorFindings,
  markWithdrawals,
} from '../../services/incidents/affected.ts';
import {
  CONTAINMENT_ACCOUNTS_MAX,
  CONTAINMENT_BATCH,
  driveContainment,
  getContainment,
  listContainments,
  startContainment,
} from '../../services/incidents/containment.ts';
import { FREEZE_MAX, freezeAccounts, unfreezeAccount } from '../../services/incidents/freeze.ts';
import {
  approveResume,
  haltForIncident,
  incidentDowntime,
  RESUME_HALTS_MAX,
  requestResume,
} from '../../services/incidents/halt-resume.ts';
import {
  getIncident,
  INCIDENT_PAGE,
  listIncidents,
  openIncident,
  setIncidentStatus,
} from '../../services/incidents/incidents.ts';
import { revokeForIncident } from '../../services/incidents/revoke.ts';
import { incidentTimeline, TIMELINE_PAGE } from '../../services/incidents/timeline.ts';
import {
  INCIDENT_CLASSIFICATIONS,
  INCIDENT_SEVERITIES,
  INCIDENT_STATUSES,
} from '../../store/schema-incidents.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';
import { Halt } from './operator-withdrawals.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const INCIDENT_ID = '01a23ab8-8900-7c00-8f00-4e5f6a7b8c90';
const REQUEST_ID = '01a23ab8-8910-7d00-9e00-5f6a7b8c9da1';
const CONTAINMENT_ID = '01a23ab8-8920-7e00-8d00-6a7b8c9daeb2';
const ALERT_ID = '01a23ab8-8800-7a00-9f00-2b1c3d4e5f60';
const OPERATOR = `operator:${EXAMPLE.operatorId}`;
/** A list of up to 10,000 account ids (about 40 bytes each in JSON): the bound of a freeze or containment body. */
const ACCOUNT_LIST_BODY_LIMIT = 512 * 1024;
/** An API call runs a containment's batches for at most this long, then answers with its progress. */
const CONTAINMENT_BUDGET_MS = 5_000;

const Incident = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    severity: Type.String({ enum: [...INCIDENT_SEVERITIES] }),
    status: Type.String({ enum: [...INCIDENT_STATUSES] }),
    alert_id: Nullable(Type.String()),
    opened_by: Type.String(),
    opened_by_email: Type.Optional(
      Nullable(
        Type.String({ description: "the opener's email, for people (when the incident is read or listed)" }),
      ),
    ),
    opened_at: Type.String(),
    updated_at: Type.String(),
    closed_by: Nullable(Type.String()),
    closed_at: Nullable(Type.String()),
  },
  {
    examples: [
      {
        id: INCIDENT_ID,
        title: 'Withdrawals approved without a second factor',
        severity: 'critical',
        status: 'open',
        alert_id: ALERT_ID,
        opened_by: OPERATOR,
        opened_at: '2026-11-28T12:06:00.000Z',
        updated_at: '2026-11-28T12:06:00.000Z',
        closed_by: null,
        closed_at: null,
      },
    ],
  },
);

const TimelineEntry = Type.Object({
  at: Type.String(),
  kind: Type.String({ enum: ['alert', 'halt.set', 'halt.lifted', 'action'] }),
  actor: Type.String(),
  actor_email: Nullable(
    Type.String({ description: "an operator actor's email, for people; null for anyone else" }),
  ),
  action: Type.String(),
  subject: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  key: Type.String(),
});

const ResumeRequest = Type.Object(
  {
    id: Type.String(),
    incident_id: Type.String(),
    requested_by: Type.String(),
    requested_at: Type.String(),
    reason: Type.String(),
    halt_ids: Type.Array(Type.String()),
    status: Type.String({ enum: ['pending', 'approved'] }),
    approved_by: Nullable(Type.String()),
    approved_at: Nullable(Type.String()),
    requested_by_email: Type.Optional(
      Nullable(Type.String({ description: "the asker's email (in the downtime)" })),
    ),
    approved_by_email: Type.Optional(
      Nullable(Type.String({ description: "the approver's email (in the downtime)" })),
    ),
    lifted: Type.Optional(Type.Integer()),
  },
  {
    examples: [
      {
        id: REQUEST_ID,
        incident_id: INCIDENT_ID,
        requested_by: OPERATOR,
        requested_at: '2026-11-28T14:00:00.000Z',
        reason: 'forged approvals stopped; custody verifier deployed',
        halt_ids: [EXAMPLE.haltId],
        status: 'pending',
        approved_by: null,
        approved_at: null,
      },
    ],
  },
);

const Containment = Type.Object(
  {
    id: Type.String(),
    incident_id: Type.String(),
    scope: Type.String({ enum: ['all', 'asset', 'accounts'] }),
    asset: Nullable(Type.String()),
    reason: Type.String(),
    status: Type.String({ enum: ['running', 'done'] }),
    cancelled: Type.Integer(),
    batches: Type.Integer(),
    cursor: Nullable(Type.String()),
    started_by: Type.String(),
    started_at: Type.String(),
    updated_at: Type.String(),
    finished_at: Nullable(Type.String()),
    resumed: Type.Optional(Type.Boolean()),
  },
  {
    examples: [
      {
        id: CONTAINMENT_ID,
        incident_id: INCIDENT_ID,
        scope: 'all',
        asset: null,
        reason: 'stop everything in flight',
        status: 'done',
        cancelled: 1874,
        batches: 10,
        cursor: EXAMPLE.withdrawalId,
        started_by: OPERATOR,
        started_at: '2026-11-28T12:08:00.000Z',
        updated_at: '2026-11-28T12:08:03.000Z',
        finished_at: '2026-11-28T12:08:03.000Z',
      },
    ],
  },
);

const AffectedWithdrawal = Type.Object({
  withdrawal_id: Type.String(),
  account_id: Type.String(),
  classification: Type.String({ enum: [...INCIDENT_CLASSIFICATIONS] }),
  state: Type.String(),
  outcome: Type.String({ enum: ['stopped', 'in_flight', 'in_doubt', 'lost'] }),
  asset: Type.String(),
  network: Type.String(),
  amount: Type.String(),
  fee: Type.String(),
  destination_address: Type.String(),
  marked_by: Type.String(),
  marked_at: Type.String(),
  note: Nullable(Type.String()),
});

const Reason = Type.String({ maxLength: 500, description: 'why, 3..500 characters; kept in the audit log' });
const PageQuery = {
  limit: Type.Optional(Type.String({ maxLength: 6 })),
  starting_after: Type.Optional(Id),
};
const IncidentParams = Type.Object({ id: Id });

/** The incident playbook for operators: /v1/operator/incidents and what hangs from it. */
export function registerIncidentRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');
  const actor = (request: FastifyRequest) => actingOperator(authOf(request));
  const params = (request: FastifyRequest) => request.params as Record<string, string>;
  const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;
  const query = (request: FastifyRequest) => request.query as Record<string, string | undefined>;

  app.get(
    '/v1/operator/incidents',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Incidents, newest first',
        description:
          `Any operator role: incidents newest first, narrowed by \`status\` (${INCIDENT_STATUSES.join(', ')}); ` +
          `\`limit\` 1 to ${INCIDENT_PAGE.max} (default ${INCIDENT_PAGE.default}), \`starting_after\` the last id ` +
          'of the page before, `has_more`.',
        security: SECURITY,
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(Type.String({ maxLength: 32 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ incidents: Type.Array(Incident), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listIncidents(context, actor(request), query(request)),
  );

  app.post(
    '/v1/operator/incidents',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Open an incident, by hand or from an alert',
        description:
          'Risk analyst, incident commander or admin: opens an incident with a `title` (3..200 characters), a ' +
          `\`severity\` (${INCIDENT_SEVERITIES.join(', ')}) and optionally the \`alert_id\` it comes from. ` +
          'Audited; tells integrators (webhook `incident.opened`).',
        security: SECURITY,
        body: Body(
          {
            title: Type.String({ maxLength: 200 }),
            severity: Type.String({ enum: [...INCIDENT_SEVERITIES] }),
            alert_id: Type.Optional(Id),
          },
          {
            examples: [
              {
                title: 'Withdrawals approved without a second factor',
                severity: 'critical',
                alert_id: ALERT_ID,
              },
            ],
          },
        ),
        response: { 201: Incident, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) =>
      reply.status(201).send(await openIncident(context, actor(request), body(request))),
  );

  app.get(
    '/v1/operator/incidents/:id',
    {
      schema: {
        tags: ['incidents'],
        summary: 'One incident',
        description: 'Any operator role: the incident. Unknown is 404.',
        security: SECURITY,
        params: IncidentParams,
        response: { 200: Incident, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => getIncident(context, actor(request), params(request).id),
  );

  app.post(
    '/v1/operator/incidents/:id/status',
    {
      schema: {
        tags: ['incidents'],
        summary: "Move an incident's status on",
        description:
          'Incident commander or admin: open -> contained | resolved, contained -> resolved, resolved -> closed ' +
          '(closed is final and needs a `note`); anything else is 409 WRONG_STATE. Audited with the incident id.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            status: Type.String({ enum: ['contained', 'resolved', 'closed'] }),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { examples: [{ status: 'contained', note: 'everything in flight cancelled, accounts frozen' }] },
        ),
        response: { 200: Incident, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => setIncidentStatus(context, actor(request), params(request).id, body(request)),
  );

  app.get(
    '/v1/operator/incidents/:id/timeline',
    {
      schema: {
        tags: ['incidents'],
        summary: "An incident's timeline: alerts, halts, actions, in time order",
        description:
          'Any operator role: the alert the incident came from and the alerts raised while it was open, its ' +
          'halts set and lifted, and every audit entry tagged with its id, oldest first. `limit` 1 to ' +
          `${TIMELINE_PAGE.max} (default ${TIMELINE_PAGE.default}); \`starting_after\` the \`cursor\` of the page ` +
          'before; `has_more`.',
        security: SECURITY,
        params: IncidentParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ maxLength: 6 })),
            starting_after: Type.Optional(Type.String({ maxLength: 160 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              incident_id: Type.String(),
              entries: Type.Array(TimelineEntry),
              cursor: Nullable(Type.String()),
              has_more: Type.Boolean(),
            },
            {
              examples: [
                {
                  incident_id: INCIDENT_ID,
                  entries: [
                    {
                      at: '2026-11-28T12:06:00.000Z',
                      kind: 'action',
                      actor: OPERATOR,
                      actor_email: 'ic@example.com',
                      action: 'incident.opened',
                      subject: `incident:${INCIDENT_ID}`,
                      data: { incident_id: INCIDENT_ID, severity: 'critical' },
                      key: 'audit:01a23ab8-8901-7c00-8f00-4e5f6a7b8c91',
                    },
                  ],
                  cursor: '2026-11-28T12:06:00.000Z~audit:01a23ab8-8901-7c00-8f00-4e5f6a7b8c91',
                  has_more: false,
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => incidentTimeline(context, actor(request), params(request).id, query(request)),
  );

  app.post(
    '/v1/operator/incidents/:id/halts',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Halt withdrawals for an incident (global, an asset, an account), now',
        description:
          'Incident commander or admin: as POST /v1/operator/halts, the halt carrying the incident id. Once this ' +
          'returns, nothing it covers is released on any node. It is lifted only by a two-person resume.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            scope: Type.String({ enum: ['global', 'asset', 'account'] }),
            asset: Type.Optional(Type.String({ maxLength: 16 })),
            network: Type.Optional(Type.String({ maxLength: 32 })),
            account_id: Type.Optional(Type.String({ maxLength: 64 })),
            reason: Reason,
          },
          { examples: [{ scope: 'global', reason: 'withdrawals approved without a second factor' }] },
        ),
        response: { 201: Halt, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await haltForIncident(context, actor(request), params(request).id, body(request))),
  );

  app.get(
    '/v1/operator/incidents/:id/downtime',
    {
      schema: {
        tags: ['incidents'],
        summary: "An incident's halts, downtime and resume requests",
        description:
          'Any operator role: each global or asset halt of the incident with its span (set to lifted, or to now), ' +
          'the downtime (their union) and global downtime in ms, how many accounts are frozen, and the resume ' +
          'requests with their approvals.',
        security: SECURITY,
        params: IncidentParams,
        response: {
          200: Type.Object(
            {
              halts: Type.Array(
                Type.Object({
                  id: Type.String(),
                  scope: Type.String(),
                  asset: Nullable(Type.String()),
                  account_id: Nullable(Type.String()),
                  created_at: Type.String(),
                  lifted_at: Nullable(Type.String()),
                  duration_ms: Type.Number(),
                }),
              ),
              downtime_ms: Type.Number(),
              global_downtime_ms: Type.Number(),
              accounts_frozen: Type.Integer(),
              active: Type.Integer(),
              resume_requests: Type.Array(ResumeRequest),
              truncated: Type.Boolean(),
            },
            {
              examples: [
                {
                  halts: [
                    {
                      id: EXAMPLE.haltId,
                      scope: 'global',
                      asset: null,
                      account_id: null,
                      created_at: '2026-11-28T12:07:00.000Z',
                      lifted_at: '2026-11-29T02:07:00.000Z',
                      duration_ms: 50_400_000,
                    },
                  ],
                  downtime_ms: 50_400_000,
                  global_downtime_ms: 50_400_000,
                  accounts_frozen: 483,
                  active: 483,
                  resume_requests: [],
                  truncated: false,
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => incidentDowntime(context, actor(request), params(request).id),
  );

  app.post(
    '/v1/operator/incidents/:id/resume-requests',
    {
      schema: {
        tags: ['incidents'],
        summary: "Ask for an incident's halts to be lifted (a second operator approves)",
        description:
          'Incident commander or admin: asks for every active global and asset halt of the incident to be ' +
          `lifted, or the listed \`halt_ids\` (1..${RESUME_HALTS_MAX}: the incident's, its freezes, or the ` +
          "monitor's halts). Nothing is lifted until another operator approves. Audited with the incident id.",
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          { reason: Reason, halt_ids: Type.Optional(Type.Array(Id, { maxItems: RESUME_HALTS_MAX })) },
          { examples: [{ reason: 'forged approvals stopped; custody verifier deployed' }] },
        ),
        response: { 201: ResumeRequest, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) =>
      reply.status(201).send(await requestResume(context, actor(request), params(request).id, body(request))),
  );

  app.post(
    '/v1/operator/incidents/:id/resume-requests/:request_id/approve',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Approve a resume request: its halts are lifted',
        description:
          'Incident commander or admin, other than the one who asked (409 SAME_OPERATOR; the database refuses it ' +
          'too): lifts the halts the request names, in one transaction, once (409 CONFLICT again). Audited; ' +
          'tells integrators (webhook `incident.resumed`).',
        security: SECURITY,
        params: Type.Object({ id: Id, request_id: Id }),
        response: { 200: ResumeRequest, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => approveResume(context, actor(request), params(request).id, params(request).request_id),
  );

  app.post(
    '/v1/operator/incidents/:id/containments',
    {
      bodyLimit: ACCOUNT_LIST_BODY_LIMIT,
      schema: {
        tags: ['incidents'],
        summary: 'Contain: cancel every withdrawal not yet released in a scope',
        description:
          'Incident commander or admin: starts a containment (`scope` all, `asset` with `asset`, or `accounts` ' +
          `with 1..${CONTAINMENT_ACCOUNTS_MAX} \`account_ids\`) and runs its batches (\`batch_size\` 1..` +
          `${CONTAINMENT_BATCH.max}, default ${CONTAINMENT_BATCH.default}) for up to ${CONTAINMENT_BUDGET_MS / 1000} s; ` +
          'each batch cancels and voids the holds of its withdrawals and moves the cursor in one transaction. ' +
          'The answer is its progress: `status` running means call POST …/containments/{containment_id}/run. ' +
          'Starting again while one runs with the same scope resumes it. Every cancel is audited with the ' +
          'incident id.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            scope: Type.String({ enum: ['all', 'asset', 'accounts'] }),
            asset: Type.Optional(Type.String({ maxLength: 16 })),
            account_ids: Type.Optional(Type.Array(Id, { maxItems: CONTAINMENT_ACCOUNTS_MAX })),
            reason: Reason,
            batch_size: Type.Optional(Type.Integer()),
          },
          { examples: [{ scope: 'all', reason: 'stop everything in flight' }] },
        ),
        response: { 200: Containment, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      const who = actor(request);
      const input = body(request);
      const started = await startContainment(context, who, params(request).id, input);
      const view = await driveContainment(context, who, started.id, {
        batchSize: input.batch_size,
        budgetMs: CONTAINMENT_BUDGET_MS,
      });
      return { ...view, resumed: started.resumed };
    },
  );

  app.post(
    '/v1/operator/incidents/:id/containments/:containment_id/run',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Go on with a containment (after a crash, or past the time budget)',
        description:
          `Incident commander or admin: runs the containment's next batches from its cursor for up to ` +
          `${CONTAINMENT_BUDGET_MS / 1000} s and answers its progress. A finished containment answers as it is.`,
        security: SECURITY,
        params: Type.Object({ id: Id, containment_id: Id }),
        body: Body(
          { batch_size: Type.Optional(Type.Integer()) },
          { examples: [{ batch_size: CONTAINMENT_BATCH.default }] },
        ),
        response: { 200: Containment, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => {
      const who = actor(request);
      const { id, containment_id } = params(request);
      await getContainment(context, who, id, containment_id);
      return driveContainment(context, who, containment_id as string, {
        batchSize: body(request).batch_size,
        budgetMs: CONTAINMENT_BUDGET_MS,
      });
    },
  );

  app.get(
    '/v1/operator/incidents/:id/containments',
    {
      schema: {
        tags: ['incidents'],
        summary: "An incident's containments and their progress",
        description: 'Any operator role: the containments of the incident, newest first (at most 100).',
        security: SECURITY,
        params: IncidentParams,
        response: {
          200: Type.Object({ containments: Type.Array(Containment) }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listContainments(context, actor(request), params(request).id),
  );

  app.post(
    '/v1/operator/incidents/:id/freeze',
    {
      bodyLimit: ACCOUNT_LIST_BODY_LIMIT,
      schema: {
        tags: ['incidents'],
        summary: 'Freeze accounts: a list, or every account the incident affected',
        description:
          `Incident commander or admin: \`account_ids\` (1..${FREEZE_MAX} customer accounts) or \`affected\`: ` +
          'true. Each gets an account halt carrying the incident id and is locked (every session ends), with no ' +
          'lock email each; one audit entry per account. Accounts already frozen by the incident are left as ' +
          'they are. An unknown account is a 400 naming it.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            account_ids: Type.Optional(Type.Array(Id, { maxItems: FREEZE_MAX })),
            affected: Type.Optional(Type.Boolean()),
            reason: Reason,
          },
          { examples: [{ affected: true, reason: 'accounts with forged approvals' }] },
        ),
        response: {
          200: Type.Object(
            { incident_id: Type.String(), frozen: Type.Integer(), already_frozen: Type.Integer() },
            { examples: [{ incident_id: INCIDENT_ID, frozen: 483, already_frozen: 0 }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => freezeAccounts(context, actor(request), params(request).id, body(request)),
  );

  app.post(
    '/v1/operator/incidents/:id/accounts/:account_id/unfreeze',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Unfreeze one account, with a reason',
        description:
          "Incident commander or admin: lifts the incident's freeze of the account and the lock it placed, and " +
          'tells the customer. Refused (409) while the account has a withdrawal that could still be released: ' +
          'contain it first, or lift the freeze with a two-person resume.',
        security: SECURITY,
        params: Type.Object({ id: Id, account_id: Id }),
        body: Body(
          { reason: Reason },
          { examples: [{ reason: 'customer verified by phone; devices clean' }] },
        ),
        response: {
          200: Type.Object(
            {
              incident_id: Type.String(),
              account_id: Type.String(),
              unfrozen: Type.Boolean(),
              unlocked: Type.Boolean(),
            },
            {
              examples: [
                { incident_id: INCIDENT_ID, account_id: EXAMPLE.customerId, unfrozen: true, unlocked: true },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      unfreezeAccount(context, actor(request), params(request).id, params(request).account_id, body(request)),
  );

  app.post(
    '/v1/operator/incidents/:id/revoke',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Revoke every customer session and/or MFA, and other operators’ sessions',
        description:
          'Incident commander or admin: `sessions` ends every customer session, `mfa` revokes every customer ' +
          'second factor (each one epoch increment, whatever the number of accounts); `operator_sessions` ends ' +
          "every operator's session but the caller's. Customers then re-enrol only with the link emailed to " +
          'them. Audited with the incident id.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            sessions: Type.Optional(Type.Boolean()),
            mfa: Type.Optional(Type.Boolean()),
            operator_sessions: Type.Optional(Type.Boolean()),
          },
          { examples: [{ sessions: true, mfa: true }] },
        ),
        response: {
          200: Type.Object(
            {
              incident_id: Type.String(),
              sessions: Type.Boolean(),
              mfa: Type.Boolean(),
              operator_sessions: Type.Boolean(),
              session_epoch: Type.Optional(Type.Integer()),
              mfa_epoch: Type.Optional(Type.Integer()),
              operators_signed_out: Type.Optional(Type.Integer()),
            },
            {
              examples: [
                {
                  incident_id: INCIDENT_ID,
                  sessions: true,
                  mfa: true,
                  operator_sessions: false,
                  session_epoch: 2,
                  mfa_epoch: 2,
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => revokeForIncident(context, actor(request), params(request).id, body(request)),
  );

  app.post(
    '/v1/operator/incidents/:id/withdrawals/mark',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Mark withdrawals as affected: unauthorized, suspect or legitimate',
        description:
          `Risk analyst, incident commander or admin: marks (or reclassifies) 1..${MARK_MAX} \`withdrawal_ids\` ` +
          'with a `classification` and an optional `note`; each is audited with the incident id. An unknown ' +
          'withdrawal is a 400 naming it.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            withdrawal_ids: Type.Array(Id, { maxItems: MARK_MAX }),
            classification: Type.String({ enum: [...INCIDENT_CLASSIFICATIONS] }),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          {
            examples: [
              {
                withdrawal_ids: [EXAMPLE.withdrawalId],
                classification: 'unauthorized',
                note: 'no second factor entered; customer confirms',
              },
            ],
          },
        ),
        response: {
          200: Type.Object(
            { incident_id: Type.String(), marked: Type.Integer(), reclassified: Type.Integer() },
            { examples: [{ incident_id: INCIDENT_ID, marked: 1, reclassified: 0 }] },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => markWithdrawals(context, actor(request), params(request).id, body(request)),
  );

  app.post(
    '/v1/operator/incidents/:id/withdrawals/mark-from-monitor',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Mark as unauthorized every withdrawal the monitor flagged since the incident opened',
        description:
          'Risk analyst, incident commander or admin: every withdrawal with a monitor finding since the ' +
          "incident opened and no mark yet is marked unauthorized (an operator's mark is kept), a page at a " +
          'time: `has_more` says to call again with `starting_after` set to the answer’s `cursor`.',
        security: SECURITY,
        params: IncidentParams,
        body: Body({ starting_after: Type.Optional(Id) }, { examples: [{}] }),
        response: {
          200: Type.Object(
            {
              incident_id: Type.String(),
              flagged: Type.Integer(),
              marked: Type.Integer(),
              cursor: Nullable(Type.String()),
              has_more: Type.Boolean(),
            },
            {
              examples: [
                {
                  incident_id: INCIDENT_ID,
                  flagged: 483,
                  marked: 483,
                  cursor: EXAMPLE.withdrawalId,
                  has_more: false,
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => markFromMonitorFindings(context, actor(request), params(request).id, body(request)),
  );

  app.get(
    '/v1/operator/incidents/:id/withdrawals',
    {
      schema: {
        tags: ['incidents'],
        summary: "An incident's affected withdrawals with their outcome",
        description:
          'Any operator role: the marked withdrawals by id, each with its classification and its outcome read ' +
          'from its state: stopped (ended before release), in_flight (not released yet), in_doubt (released, ' +
          `broadcast, errored), lost (completed). Narrowed by \`classification\` and \`account_id\`; \`limit\` 1 to ` +
          `${AFFECTED_PAGE.max}, \`starting_after\`, \`has_more\`.`,
        security: SECURITY,
        params: IncidentParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            classification: Type.Optional(Type.String({ maxLength: 32 })),
            account_id: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ withdrawals: Type.Array(AffectedWithdrawal), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listAffectedWithdrawals(context, actor(request), params(request).id, query(request)),
  );

  app.get(
    '/v1/operator/incidents/:id/accounts',
    {
      schema: {
        tags: ['incidents'],
        summary: 'The accounts an incident affected',
        description:
          'Any operator role: the accounts with a withdrawal marked unauthorized or suspect, by id, each with how ' +
          `many; \`limit\` 1 to ${AFFECTED_PAGE.max}, \`starting_after\`, \`has_more\`.`,
        security: SECURITY,
        params: IncidentParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object(
            {
              accounts: Type.Array(Type.Object({ account_id: Type.String(), withdrawals: Type.Integer() })),
              has_more: Type.Boolean(),
            },
            {
              examples: [{ accounts: [{ account_id: EXAMPLE.customerId, withdrawals: 2 }], has_more: false }],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listAffectedAccounts(context, actor(request), params(request).id, query(request)),
  );
}
