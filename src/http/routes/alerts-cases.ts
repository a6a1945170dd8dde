import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  ALERT_PAGE,
  ALERT_SEVERITIES,
  ALERT_STATES,
  type AlertQuery,
  acknowledgeAlert,
  getAlert,
  listAlerts,
  NOTE_MAX,
  RESOLUTION_KINDS,
  resolveAlert,
} from '../../services/alerts.ts';
import {
  CASE_PAGE,
  CASE_STATUSES,
  closeCase,
  getCase,
  linkToCase,
  listCases,
  noteCase,
  openCase,
  setCaseStatus,
} from '../../services/cases.ts';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const ALERT_ID = '01a23ab8-8800-7a00-9f00-2b1c3d4e5f60';
const CASE_ID = '01a23ab8-8810-7b00-8e00-3c2d4e5f6a71';

const Alert = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    severity: Type.String({ enum: [...ALERT_SEVERITIES] }),
    fingerprint: Type.String(),
    title: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    subject: Nullable(Type.String()),
    state: Type.String({ enum: [...ALERT_STATES] }),
    resolution_kind: Nullable(Type.String()),
    resolution_note: Nullable(Type.String()),
    opened_at: Type.String(),
    last_seen_at: Type.String(),
    occurrences: Type.Integer(),
    acknowledged_by: Nullable(Type.String()),
    acknowledged_at: Nullable(Type.String()),
    resolved_by: Nullable(Type.String()),
    resolved_at: Nullable(Type.String()),
  },
  {
    examples: [
      {
        id: ALERT_ID,
        kind: 'monitor.proof_mismatch',
        severity: 'critical',
        fingerprint: `withdrawal:${EXAMPLE.withdrawalId}`,
        title: "A released withdrawal's proof does not verify",
        details: { digest: 'a634e9102a071ecc414e426a0fd27fc5644948113fc5addf0c79d27de6a27f37' },
        subject: `withdrawal:${EXAMPLE.withdrawalId}`,
        state: 'acknowledged',
        resolution_kind: null,
        resolution_note: null,
        opened_at: '2026-11-28T12:02:00.000Z',
        last_seen_at: '2026-11-28T12:04:00.000Z',
        occurrences: 3,
        acknowledged_by: `operator:${EXAMPLE.operatorId}`,
        acknowledged_at: '2026-11-28T12:05:00.000Z',
        resolved_by: null,
        resolved_at: null,
      },
    ],
  },
);

const CaseEvent = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  kind: Type.String({ enum: ['opened', 'alert_linked', 'withdrawal_linked', 'note', 'status_changed'] }),
  subject: Nullable(Type.String()),
  note: Nullable(Type.String()),
  from_status: Nullable(Type.String()),
  to_status: Nullable(Type.String()),
});

const CaseSummary = {
  id: Type.String(),
  title: Type.String(),
  status: Type.String({ enum: [...CASE_STATUSES] }),
  opened_by: Type.String(),
  opened_at: Type.String(),
  updated_at: Type.String(),
  closed_by: Nullable(Type.String()),
  closed_at: Nullable(Type.String()),
};

const Case = Type.Object(
  {
    ...CaseSummary,
    alert_ids: Type.Array(Type.String()),
    withdrawal_ids: Type.Array(Type.String()),
    events: Type.Array(CaseEvent, { description: 'append-only, oldest first' }),
  },
  {
    examples: [
      {
        id: CASE_ID,
        title: 'Withdrawals to one address from many accounts',
        status: 'investigating',
        opened_by: `operator:${EXAMPLE.operatorId}`,
        opened_at: '2026-11-28T12:06:00.000Z',
        updated_at: '2026-11-28T12:08:00.000Z',
        closed_by: null,
        closed_at: null,
        alert_ids: [ALERT_ID],
        withdrawal_ids: [],
        events: [
          {
            id: '01a23ab8-8811-7c00-8d00-4d3e5f6a7b82',
            at: '2026-11-28T12:06:00.000Z',
            actor: `operator:${EXAMPLE.operatorId}`,
            kind: 'opened',
            subject: null,
            note: null,
            from_status: null,
            to_status: 'open',
          },
        ],
      },
    ],
  },
);

const PageQuery = {
  limit: Type.Optional(Type.String({ maxLength: 6 })),
  starting_after: Type.Optional(Id),
};

const Note = Type.String({ maxLength: NOTE_MAX, description: `3..${NOTE_MAX} characters` });

/** Alerts (acknowledge, resolve) and cases (open, link, note, move on, close), for operators. */
export function registerAlertAndCaseRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');
  const actor = (request: Parameters<typeof authOf>[0]) => actingOperator(authOf(request));
  const idOf = (request: { params: unknown }) => (request.params as { id: string }).id;

  app.get(
    '/v1/operator/alerts',
    {
      schema: {
        tags: ['operator'],
        summary: 'Alerts, newest first, by state, kind and severity',
        description:
          'Any operator role: alerts newest first, narrowed by `state` (open, acknowledged, resolved), `kind` ' +
          `and \`severity\` (info, warning, critical); \`limit\` 1 to ${ALERT_PAGE.max} (default ` +
          `${ALERT_PAGE.default}), \`starting_after\` the last id of the page before, \`has_more\`.`,
        security: SECURITY,
        querystring: Type.Object(
          {
            ...PageQuery,
            state: Type.Optional(Type.String({ maxLength: 32 })),
            kind: Type.Optional(Type.String({ maxLength: 64 })),
            severity: Type.Optional(Type.String({ maxLength: 32 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ alerts: Type.Array(Alert), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listAlerts(context, actor(request), request.query as AlertQuery),
  );

  app.get(
    '/v1/operator/alerts/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'One alert',
        description:
          'Any operator role: the alert with its details, occurrences and resolution. Unknown is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: Alert, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => getAlert(context, actor(request), idOf(request)),
  );

  app.post(
    '/v1/operator/alerts/:id/acknowledge',
    {
      schema: {
        tags: ['operator'],
        summary: 'Acknowledge an open alert (someone is on it)',
        description:
          'Risk analyst, incident commander or admin: open -> acknowledged, audited. An alert that is not open ' +
          'is 409 WRONG_STATE naming its `state`.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: Alert, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => acknowledgeAlert(context, actor(request), idOf(request)),
  );

  app.post(
    '/v1/operator/alerts/:id/resolve',
    {
      schema: {
        tags: ['operator'],
        summary: 'Resolve an acknowledged alert with a kind and a note',
        description:
          `Risk analyst, incident commander or admin: \`kind\` (${RESOLUTION_KINDS.join(', ')}) and a \`note\` ` +
          `of 3 to ${NOTE_MAX} characters; acknowledged -> resolved, audited. An alert not acknowledged is 409 ` +
          'WRONG_STATE. Once resolved, the same kind and fingerprint raised again opens a new alert.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { kind: Type.Optional(Type.String({ enum: [...RESOLUTION_KINDS] })), note: Note },
          {
            examples: [{ kind: 'false_positive', note: 'the customer moved funds to their own cold wallet' }],
          },
        ),
        response: { 200: Alert, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      resolveAlert(context, actor(request), idOf(request), request.body as { kind?: string; note: string }),
  );

  app.get(
    '/v1/operator/cases',
    {
      schema: {
        tags: ['operator'],
        summary: 'Cases, newest first',
        description:
          'Any operator role: cases newest first, narrowed by `status` (open, investigating, closed); `limit` 1 ' +
          `to ${CASE_PAGE.max} (default ${CASE_PAGE.default}), \`starting_after\`, \`has_more\`.`,
        security: SECURITY,
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(Type.String({ maxLength: 32 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ cases: Type.Array(Type.Object(CaseSummary)), has_more: Type.Boolean() }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => listCases(context, actor(request), request.query as Record<string, unknown>),
  );

  app.post(
    '/v1/operator/cases',
    {
      schema: {
        tags: ['operator'],
        summary: 'Open a case',
        description: `Risk analyst, incident commander or admin: a \`title\` of 3 to 200 characters and an optional first \`note\`; audited.`,
        security: SECURITY,
        body: Body(
          { title: Type.String({ maxLength: 200 }), note: Type.Optional(Note) },
          { examples: [{ title: 'Withdrawals to one address from many accounts' }] },
        ),
        response: { 201: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await openCase(context, actor(request), request.body as Record<string, unknown>)),
  );

  app.get(
    '/v1/operator/cases/:id',
    {
      schema: {
        tags: ['operator'],
        summary: 'One case with its events',
        description:
          'Any operator role: the case, the alerts and withdrawals linked to it and its append-only events. ' +
          'Unknown is 404.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        response: { 200: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => getCase(context, actor(request), idOf(request)),
  );

  app.post(
    '/v1/operator/cases/:id/links',
    {
      schema: {
        tags: ['operator'],
        summary: 'Link an alert or a withdrawal to a case',
        description:
          'Risk analyst, incident commander or admin: exactly one of `alert_id` or `withdrawal_id`, which must ' +
          'exist; each is linked once (again is 409 ALREADY_EXISTS); a closed case is 409 WRONG_STATE.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { alert_id: Type.Optional(Id), withdrawal_id: Type.Optional(Id) },
          { examples: [{ alert_id: ALERT_ID }, { withdrawal_id: EXAMPLE.withdrawalId }] },
        ),
        response: { 200: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      linkToCase(context, actor(request), idOf(request), request.body as Record<string, unknown>),
  );

  app.post(
    '/v1/operator/cases/:id/notes',
    {
      schema: {
        tags: ['operator'],
        summary: 'Add a note to a case',
        description: `Risk analyst, incident commander or admin: a \`note\` of 3 to ${NOTE_MAX} characters; a closed case is 409 WRONG_STATE.`,
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ note: Note }, { examples: [{ note: 'all 14 accounts logged in from one IP range' }] }),
        response: { 200: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => noteCase(context, actor(request), idOf(request), request.body as { note: string }),
  );

  app.post(
    '/v1/operator/cases/:id/status',
    {
      schema: {
        tags: ['operator'],
        summary: 'Move a case on: investigating or closed',
        description:
          'Risk analyst, incident commander or admin: open -> investigating, open or investigating -> closed ' +
          '(closing needs a `note`); anything else is 409 WRONG_STATE naming the case `case_status`.',
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body(
          { status: Type.String({ enum: ['investigating', 'closed'] }), note: Type.Optional(Note) },
          { examples: [{ status: 'investigating' }] },
        ),
        response: { 200: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      setCaseStatus(context, actor(request), idOf(request), request.body as Record<string, unknown>),
  );

  app.post(
    '/v1/operator/cases/:id/close',
    {
      schema: {
        tags: ['operator'],
        summary: 'Close a case, saying how it ended',
        description:
          'Risk analyst, incident commander or admin: the same as status closed, with a `note` of 3 to ' +
          `${NOTE_MAX} characters. A closed case is 409 WRONG_STATE.`,
        security: SECURITY,
        params: Type.Object({ id: Id }),
        body: Body({ note: Note }, { examples: [{ note: 'confirmed phishing; customers reimbursed' }] }),
        response: { 200: Case, ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => closeCase(context, actor(request), idOf(request), request.body as { note: string }),
  );
}
