import { invalidInput } from '../../core/errors.ts';
import { buildIncidentReport, type IncidentReport } from '../../core/incidents/report.ts';
import { renderReportHtml, renderReportMarkdown } from '../../core/incidents/report-render.ts';
import { affectedWithdrawalFacts } from '../../store/incident-losses.ts';
import { paidReimbursementWithdrawals } from '../../store/incident-reimbursements.ts';
import { alertsForIncident, incidentAuditEntries } from '../../store/incident-timeline.ts';
import { inReadSnapshot } from '../../store/transaction.ts';
import type { ServiceContext } from '../context.ts';
import { authorize, type OperatorActor } from '../identity/acting-operator.ts';
import { operatorEmails } from '../identity/operator-emails.ts';
import { haltsOfIncident } from './incident-halts.ts';
import { existingIncident, incidentIdOf } from './losses.ts';
import { reimbursementFacts } from './reimbursement.ts';

/** Bounds of the report's lists; reaching one is said in the report (`truncated`), never hidden. */
const MAX_AUDIT = 5000;
const MAX_ALERTS = 500;
const MAX_HALTS = 2000;

export const REPORT_FORMATS = ['json', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function reportFormatOf(value: unknown): ReportFormat {
  if (value === undefined) return 'json';
  if (typeof value !== 'string' || !(REPORT_FORMATS as readonly string[]).includes(value)) {
    throw invalidInput('format', 'must be json, md or html');
  }
  return value as ReportFormat;
}

/**
 * The incident report (any operator role), from one consistent snapshot (one read transaction): losses,
 * reimbursements and their reconciliation, detection, halts, timeline, actions and open items.
 */
export async function incidentReport(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
): Promise<IncidentReport> {
  authorize(actor, 'incident.read');
  const incidentId = incidentIdOf(id);
  const facts = await inReadSnapshot(context.database, async (tx) => {
    const generatedAt = context.clock.now().toISOString();
    const incident = await existingIncident(tx, incidentId);
    const affected = await affectedWithdrawalFacts(tx, incidentId);
    const reimbursement = await reimbursementFacts(tx, incidentId, affected);
    // The playbook's own reads: the halts its downtime counts, the timeline's alerts and tagged audit entries.
    const halts = await haltsOfIncident(tx, incident, generatedAt, MAX_HALTS + 1);
    const audit = await incidentAuditEntries(tx, incidentId, incident.opened_at, MAX_AUDIT + 1);
    const alerts = await alertsForIncident(
      tx,
      incident.alert_id,
      incident.opened_at,
      incident.closed_at,
      MAX_ALERTS + 1,
    );
    const paid = await paidReimbursementWithdrawals(tx, incidentId);
    return {
      incident: {
        id: incident.id,
        title: incident.title,
        severity: incident.severity,
        status: incident.status,
        opened_at: incident.opened_at,
        opened_by: incident.opened_by,
        alert_id: incident.alert_id,
        closed_at: incident.closed_at,
      },
      generatedAt,
      affected,
      paidWithdrawalIds: new Set(paid),
      reimbursement: {
        assets: reimbursement.assets,
        reconciled: reimbursement.reconciled,
        awaitingApproval: reimbursement.requests.filter((r) => r.status === 'requested').length,
      },
      alerts: alerts.slice(0, MAX_ALERTS),
      halts: halts.slice(0, MAX_HALTS),
      audit: audit.slice(0, MAX_AUDIT).map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      truncated: {
        audit: audit.length > MAX_AUDIT,
        alerts: alerts.length > MAX_ALERTS,
        halts: halts.length > MAX_HALTS,
      },
    };
  });
  // Who the operators named in it are, for the people who read it (their emails, read after the snapshot).
  const emailOf = await operatorEmails(context, [
    facts.incident.opened_by,
    ...facts.halts.flatMap((h) => [h.created_by, h.lifted_by]),
    ...facts.audit.map((e) => e.actor),
  ]);
  return buildIncidentReport({ ...facts, emailOf });
}

/** The report rendered: JSON (the object), Markdown or HTML (text with its media type). */
export async function renderedIncidentReport(
  context: ServiceContext,
  actor: OperatorActor,
  id: unknown,
  format: unknown,
): Promise<{ mediaType: string; body: string | IncidentReport }> {
  const wanted = reportFormatOf(format);
  const report = await incidentReport(context, actor, id);
  switch (wanted) {
    case 'json':
      return { mediaType: 'application/json', body: report };
    case 'md':
      return { mediaType: 'text/markdown; charset=utf-8', body: renderReportMarkdown(report) };
    case 'html':
      return { mediaType: 'text/html; charset=utf-8', body: renderReportHtml(report) };
  }
}
