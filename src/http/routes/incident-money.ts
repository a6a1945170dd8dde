import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.ts';
import { actingOperator } from '../../services/identity/acting-operator.ts';
import { incidentLosses } from '../../services/incidents/losses.ts';
import {
  approveReimbursement,
  executeReimbursement,
  reimbursementStatus,
  requestReimbursement,
} from '../../services/incidents/reimbursement.ts';
import { renderedIncidentReport } from '../../services/incidents/report.ts';
import { fundTreasury, treasuryBalances } from '../../services/incidents/treasury.ts';
import { authOf, requireSession } from '../auth.ts';
import { Body, EXAMPLE, Id, PROBLEM_RESPONSES, SECURITY } from '../schemas.ts';

const EXAMPLE_INCIDENT = '01a23ab8-88a0-7c11-9a3e-5b2f0d6e7a10';
const EXAMPLE_REIMBURSEMENT = '01a23ab8-88b4-7d22-8b4f-6c3e1e7f8b21';

/** An open object: the figures documented in the description; every amount a decimal string. */
const Figures = (description: string) => Type.Object({}, { additionalProperties: true, description });

const IncidentParams = Type.Object({ id: Id });
const ReimbursementParams = Type.Object({ id: Id, reimbursement_id: Id });

/**
 * The incident playbook's money: losses, reimbursement (requested, approved by a second operator, paid in batches),
 * the report, and the treasury reimbursements are paid from. Every service checks the role itself.
 */
export function registerIncidentMoneyRoutes(app: FastifyInstance, context: ServiceContext) {
  const operator = requireSession(context, 'operator');
  const params = (request: { params: unknown }) => request.params as { id: string; reimbursement_id: string };

  app.get(
    '/v1/operator/incidents/:id/losses',
    {
      schema: {
        tags: ['operator'],
        summary: "An incident's losses: prevented, lost and in doubt, per asset and in USD",
        description:
          'Counts the withdrawals marked as affected (unauthorized and suspect; legitimate ones are excluded and ' +
          'counted): per asset, prevented (stopped before release), lost (completed) and in doubt (released, ' +
          'broadcast, errored), each with count, amount, fee, total (amount + fee) and USD at the price stored at ' +
          'confirmation (else the price history; `unpriced` lists those with neither). USD is rounded to cents in ' +
          '`usd` and exact in `usd_exact`. Any operator role. An unknown incident is 404.',
        security: SECURITY,
        params: IncidentParams,
        response: { 200: Figures('the losses'), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => incidentLosses(context, actingOperator(authOf(request)), params(request).id),
  );

  app.get(
    '/v1/operator/incidents/:id/reimbursements',
    {
      schema: {
        tags: ['operator'],
        summary: "An incident's reimbursement requests and their reconciliation against the losses",
        description:
          'Per asset: reimbursable (unauthorized and lost, amount + fee), requested, paid, booked_in_ledger (the ' +
          'amounts of the ledger transfers the payments name) and outstanding; `reconciled` is true when every ' +
          'payment is booked for exactly its amount and nothing paid exceeds what was lost. Any operator role.',
        security: SECURITY,
        params: IncidentParams,
        response: { 200: Figures('requests, per-asset reconciliation'), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) => reimbursementStatus(context, actingOperator(authOf(request)), params(request).id),
  );

  app.post(
    '/v1/operator/incidents/:id/reimbursements',
    {
      schema: {
        tags: ['operator'],
        summary:
          'Request reimbursement of the unauthorized losses (incident commander); a second operator approves',
        description:
          'Requests that every unauthorized withdrawal of the incident that completed and is not reimbursed yet ' +
          '(or only `withdrawal_ids`) be paid back, each for its amount + fee, in the same asset. Naming one that ' +
          'is not eligible (legitimate or suspect, not lost, not of this incident, already reimbursed) is 409 ' +
          'with `details.not_eligible`; nothing eligible is 409 WRONG_STATE. Nothing is paid until another ' +
          'operator approves. Audited with the incident id.',
        security: SECURITY,
        params: IncidentParams,
        body: Body(
          {
            reason: Type.String({ maxLength: 500, description: '3..500 characters' }),
            withdrawal_ids: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
          },
          {
            examples: [
              { reason: 'customers phished; losses confirmed on chain' },
              { reason: 'first batch of confirmed victims', withdrawal_ids: [EXAMPLE.withdrawalId] },
            ],
          },
        ),
        response: { 201: Figures('the request'), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) => {
      const created = await requestReimbursement(
        context,
        actingOperator(authOf(request)),
        params(request).id,
        request.body as { reason: string },
      );
      return reply.code(201).send(created);
    },
  );

  app.post(
    '/v1/operator/incidents/:id/reimbursements/:reimbursement_id/approve',
    {
      schema: {
        tags: ['operator'],
        summary: 'Approve a reimbursement request (a second, different operator)',
        description:
          'The operator who requested it cannot approve it (409 SAME_OPERATOR; the database refuses it too). ' +
          'Every withdrawal is checked again: one reclassified or no longer lost makes it 409 with ' +
          '`details.not_eligible`. Approving twice is 409 ALREADY_RESOLVED. Pay it with .../execute.',
        security: SECURITY,
        params: ReimbursementParams,
        response: { 200: Figures('the approved request'), ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request) =>
      approveReimbursement(
        context,
        actingOperator(authOf(request)),
        params(request).id,
        params(request).reimbursement_id,
      ),
  );

  app.post(
    '/v1/operator/incidents/:id/reimbursements/:reimbursement_id/execute',
    {
      schema: {
        tags: ['operator'],
        summary: 'Pay the next batch of an approved reimbursement',
        description:
          'Pays up to `batch_size` (1..500, default 100) withdrawals in one transaction: a ledger transfer each ' +
          'from the treasury to the customer (id derived from incident and withdrawal, so paying twice books ' +
          'nothing twice), an email and an `account.reimbursed` webhook to each customer. A treasury that cannot ' +
          'cover the batch is 409 INSUFFICIENT_FUNDS naming the asset, and nothing is paid. Answers the progress; ' +
          'call again until `remaining` is 0.',
        security: SECURITY,
        params: ReimbursementParams,
        body: Body(
          { batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
          { examples: [{ batch_size: 100 }] },
        ),
        response: {
          200: Type.Object(
            {
              reimbursement_id: Type.String(),
              incident_id: Type.String(),
              paid_now: Type.Integer(),
              paid: Type.Integer(),
              remaining: Type.Integer(),
              total: Type.Integer(),
            },
            {
              examples: [
                {
                  reimbursement_id: EXAMPLE_REIMBURSEMENT,
                  incident_id: EXAMPLE_INCIDENT,
                  paid_now: 100,
                  paid: 300,
                  remaining: 183,
                  total: 483,
                },
              ],
            },
          ),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      executeReimbursement(
        context,
        actingOperator(authOf(request)),
        params(request).id,
        params(request).reimbursement_id,
        (request.body ?? {}) as { batch_size?: number },
      ),
  );

  app.get(
    '/v1/operator/incidents/:id/report',
    {
      schema: {
        tags: ['operator'],
        summary: 'The incident report, as JSON, Markdown or HTML',
        description:
          'From one consistent snapshot: accounts affected, per-asset totals, USD total, share prevented, ' +
          'reimbursed and outstanding (with the reconciliation), time to detect (first unauthorized confirmation ' +
          'to the first alert, halt or opening), halt duration, timeline of alerts, halts and audited actions ' +
          'carrying the incident id, actions per operator, open items, and `operators` (each operator actor it names, ' +
          'with its email: Markdown and HTML name operators by it). `format` json (default), md ' +
          '(text/markdown) or html (text/html, everything from input escaped). Any operator role.',
        security: SECURITY,
        params: IncidentParams,
        querystring: Type.Object(
          { format: Type.Optional(Type.String({ enum: ['json', 'md', 'html'] })) },
          { additionalProperties: false },
        ),
        response: { ...PROBLEM_RESPONSES },
      },
      ...operator,
    },
    async (request, reply) => {
      const rendered = await renderedIncidentReport(
        context,
        actingOperator(authOf(request)),
        params(request).id,
        (request.query as { format?: string }).format,
      );
      return reply.type(rendered.mediaType).send(rendered.body);
    },
  );

  app.get(
    '/v1/operator/treasury',
    {
      schema: {
        tags: ['operator'],
        summary: "The platform treasury's balances (reimbursements are paid from it)",
        description:
          'The available balance of the treasury in every asset, zero where never funded. Risk analyst, incident commander or admin.',
        security: SECURITY,
        response: {
          200: Type.Object({
            balances: Type.Array(Type.Object({ asset: Type.String(), available: Type.String() })),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) => treasuryBalances(context, actingOperator(authOf(request))),
  );

  app.post(
    '/v1/operator/treasury/fund',
    {
      schema: {
        tags: ['operator'],
        summary: 'Fund the treasury with platform money (admin)',
        description:
          "Moves `amount` of `asset` from the platform's own funds into the treasury, one ledger transfer, " +
          'audited with who and why. Admin only. A malformed amount or unknown asset is 400 naming it.',
        security: SECURITY,
        body: Body(
          {
            asset: Type.String({ maxLength: 16 }),
            amount: Type.String({ maxLength: 64, description: 'decimal string in the asset (e.g. 12.5)' }),
            reason: Type.String({ maxLength: 500, description: '3..500 characters' }),
          },
          {
            examples: [
              {
                asset: 'BTC',
                amount: '450',
                reason: 'board-approved reimbursement reserve, incident 2022-01',
              },
            ],
          },
        ),
        response: {
          200: Type.Object({
            transfer_id: Type.String(),
            asset: Type.String(),
            amount: Type.String(),
            available: Type.String(),
          }),
          ...PROBLEM_RESPONSES,
        },
      },
      ...operator,
    },
    async (request) =>
      fundTreasury(context, actingOperator(authOf(request)), request.body as Record<string, unknown>),
  );
}
